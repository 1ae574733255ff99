import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import { Agent, request, type Dispatcher } from 'undici';
import { withTimeout } from '../../common/with-timeout';
import { ActionError, PermanentActionError, RateLimitedActionError, TransientActionError } from '../action-errors';
import { EgressGuard, type DnsLookup } from './egress-guard';
import { retryAfterMs } from './retry-after';

export interface OutboundHttpClientConfig {
  /** `HTTP_ACTION_ALLOWED_HOSTS`; see `EgressGuard`. */
  allowedHosts: readonly string[];
  lookup?: DnsLookup;
  /** Per-request default; 10 s when unset. */
  defaultTimeoutMs?: number;
}

export interface OutboundRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  /** Sent as JSON when defined. */
  body?: unknown;
  timeoutMs?: number;
  /** Names the target in errors instead of the URL (which may hold secrets); default `METHOD host/path`. */
  label?: string;
  /** Extracts a short, secret-free reason from an error body (e.g. Slack's `no_service`). */
  reasonFromBody?: (body: string) => string | undefined;
  /** Aborts the call; the promise then rejects with the signal's reason, not an `ActionError`. */
  signal?: AbortSignal;
}

export interface OutboundResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  /** At most the first 16 KiB of the body. */
  body: string;
}

/** What bounds one call: its length, and the signal to abort it by when the caller can abort. */
interface CallLimits {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Set once the answer's headers are in: drops the rest of its body (a call past its deadline). */
  dropBody?: () => void;
}

const MAX_BODY_BYTES = 16 * 1024;
const CLOSE_GRACE_MS = 1_000;
/** Whole JSON answers (Port entity pages, blueprints) may be large, but not unbounded. */
const MAX_JSON_BYTES = 64 * 1024 * 1024;
/**
 * The connect timeouts (ms) a call's connection pool may have. A call gets the longest one that ends
 * within its deadline (undici's own default, 10 s, at most), so a call still connecting when its deadline
 * passes is given up by undici too, never sent late: after its action was recorded as timed out
 * and its retry queued, a late send would be a second delivery. Steps, not each deadline's own
 * pool: the pools stay few (deadlines come from the rules file, which may change while running).
 */
const CONNECT_TIMEOUTS_MS = [1, 2, 5, 10, 20, 50, 100, 150, 200, 300, 500, 750, 1_000, 1_500, 2_000, 3_000, 5_000, 7_500, 10_000];

/**
 * Outbound HTTP for actions: egress-guarded, time-limited, never follows redirects (a 3xx is
 * returned to the dispatcher, which decides what it means for its target), and turns
 * every failure into the `ActionError` that decides the retry. Messages name the target by its
 * label only: no URL query, header or response body can leak a secret.
 */
@Injectable()
export class OutboundHttpClient implements OnApplicationShutdown {
  private readonly guard: EgressGuard;
  /** By connect timeout (one of CONNECT_TIMEOUTS_MS), made on first use. */
  private readonly agents = new Map<number, Agent>();
  private readonly defaultTimeoutMs: number;

  constructor(config: OutboundHttpClientConfig) {
    this.guard = new EgressGuard(config);
    this.defaultTimeoutMs = config.defaultTimeoutMs ?? 10_000;
  }

  async request(req: OutboundRequest): Promise<OutboundResponse> {
    const url = parseUrl(req.url, req.label);
    const label = req.label ?? `${req.method.toUpperCase()} ${url.host}${url.pathname}`;
    return this.withDeadline(req, label, async (limits) => {
      const response = await this.send(req, url, label, limits);
      const body = await readCapped(response.body, MAX_BODY_BYTES).catch((error: unknown) => {
        throw networkError(label, error);
      });
      if (response.statusCode < 400) return { statusCode: response.statusCode, headers: response.headers, body };
      throw statusError(label, response.statusCode, response.headers['retry-after'], req.reasonFromBody?.(body));
    });
  }

  /** The whole answer parsed as JSON (up to 64 MiB; larger is refused), same errors as `request`. */
  async readJson<T = unknown>(req: OutboundRequest): Promise<T> {
    const url = parseUrl(req.url, req.label);
    const label = req.label ?? `${req.method.toUpperCase()} ${url.host}${url.pathname}`;
    const { response, text } = await this.withDeadline(req, label, async (limits) => {
      const answer = await this.send({ ...req, headers: { accept: 'application/json', ...req.headers } }, url, label, limits);
      const whole = await readWhole(answer.body, MAX_JSON_BYTES, label).catch((error: unknown) => {
        if (req.signal?.aborted) throw req.signal.reason;
        throw error instanceof ActionError ? error : networkError(label, error);
      });
      return { response: answer, text: whole };
    });
    if (response.statusCode >= 400) throw statusError(label, response.statusCode, response.headers['retry-after'], req.reasonFromBody?.(text));
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new TransientActionError(`${label} -> ${response.statusCode} but the answer is not JSON`, response.statusCode);
    }
  }

  /**
   * Last in a shutdown (after the action workers have finished their jobs, which call through
   * here). A call that lost its deadline may still wait on undici's own timeouts: running calls get
   * a moment, then are cut.
   */
  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.agents.values()].map((agent) => withTimeout(agent.close(), CLOSE_GRACE_MS).catch(() => agent.destroy())));
  }

  /**
   * The pool whose connect timeout is the longest within `timeoutMs` (see CONNECT_TIMEOUTS_MS). Above
   * 1 s undici times connects with its coarse timers, which may fire up to about a second late: such
   * a timeout is kept a second short of the deadline.
   */
  private agentFor(timeoutMs: number): Agent {
    const within = timeoutMs <= 2_000 ? Math.min(timeoutMs, 1_000) : timeoutMs - 1_000;
    let connectMs = CONNECT_TIMEOUTS_MS[0];
    for (const ms of CONNECT_TIMEOUTS_MS) if (ms <= within) connectMs = ms;
    let agent = this.agents.get(connectMs);
    if (!agent) this.agents.set(connectMs, (agent = new Agent({ connect: { lookup: this.guard.connectLookup, timeout: connectMs } })));
    return agent;
  }

  /**
   * The request's deadline over the call and the body read: its timeout, or the caller's signal,
   * whichever comes first.
   *
   * Without a caller's signal (every action), no AbortSignal goes to undici: one per request cost
   * 10 µs of a 50 µs call (its abort listener), measured on this machine. The deadline is a timer
   * raced against the call instead. A call that loses the race has its body dropped if its headers
   * are in; if not, undici's own header timeout (the same length) ends it soon after, or, while it
   * is still connecting, its pool's connect timeout (never longer than the deadline) does. Not
   * AbortSignal.timeout + any() either: those leave a timer and signals per request alive until the
   * timeout passes (~5% of a worker).
   */
  private async withDeadline<T>(req: OutboundRequest, label: string, run: (limits: CallLimits) => Promise<T>): Promise<T> {
    const ms = req.timeoutMs && req.timeoutMs > 0 ? req.timeoutMs : this.defaultTimeoutMs;
    if (req.signal) return this.withSignal(req.signal, ms, run);
    const limits: CallLimits = { timeoutMs: ms };
    const call = run(limits);
    call.catch(() => undefined);
    return withTimeout(call, ms, () => {
      // A target still trickling its body would keep the socket past undici's idle timeout: cut it now.
      limits.dropBody?.();
      return networkError(label, timedOut());
    });
  }

  /** The caller can abort (a reconcile being stopped): one AbortController, fed by its signal and the timer. */
  private async withSignal<T>(outer: AbortSignal, ms: number, run: (limits: CallLimits) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(timedOut()), ms);
    const forward = () => controller.abort(outer.reason);
    if (outer.aborted) forward();
    else outer.addEventListener('abort', forward, { once: true });
    try {
      return await run({ timeoutMs: ms, signal: controller.signal });
    } finally {
      clearTimeout(timer);
      outer.removeEventListener('abort', forward);
    }
  }

  private async send(req: OutboundRequest, url: URL, label: string, limits: CallLimits): Promise<Dispatcher.ResponseData> {
    const hasBody = req.body !== undefined;
    try {
      this.guard.assertAllowed(url);
      const response = await request(url, {
        dispatcher: this.agentFor(limits.timeoutMs),
        method: req.method.toUpperCase() as Dispatcher.HttpMethod,
        headers: lowerCaseKeys({ ...(hasBody ? { 'content-type': 'application/json' } : {}), ...req.headers }),
        body: hasBody ? JSON.stringify(req.body) : undefined,
        signal: limits.signal,
        headersTimeout: limits.timeoutMs,
        bodyTimeout: limits.timeoutMs,
      });
      limits.dropBody = () => response.body.destroy();
      return response;
    } catch (error) {
      if (req.signal?.aborted) throw req.signal.reason;
      throw networkError(label, error);
    }
  }
}

/** What a deadline aborts with: read as "timed out" by networkError. */
function timedOut(): DOMException {
  return new DOMException('The operation timed out', 'TimeoutError');
}

function parseUrl(raw: string, label: string | undefined): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new PermanentActionError(`${label ?? 'request'}: the URL is not valid`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new PermanentActionError(`${label ?? 'request'}: only http and https URLs are allowed`);
  }
  return url;
}

// Later keys win whatever their case, so a caller's `Content-Type` replaces our default.
function lowerCaseKeys(headers: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), String(value)]));
}

/** Events, not `for await`: the async iterator cost a few µs more per call. */
function readCapped(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => resolve(Buffer.concat(chunks).subarray(0, limit).toString('utf8'));
    body.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      // The rest of a large body is never read: destroying the stream drops it (and its error is moot).
      if (size >= limit) {
        done();
        body.destroy();
      }
    });
    body.on('end', done);
    body.on('error', reject);
  });
}

async function readWhole(body: Dispatcher.ResponseData['body'], limit: number, label: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new PermanentActionError(`${label}: answer larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function statusError(label: string, status: number, retryAfter: string | string[] | undefined, reason?: string): ActionError {
  const message = `${label} -> ${status} ${reason ?? STATUS_CODES[status] ?? ''}`.trim();
  if (status === 429) return new RateLimitedActionError(message, retryAfterMs(retryAfter), status);
  if (status >= 500) return new TransientActionError(message, status);
  return new PermanentActionError(message, status);
}

function networkError(label: string, error: unknown): ActionError {
  // The egress guard refuses from inside the connection's DNS lookup.
  if (error instanceof PermanentActionError) return new PermanentActionError(`${label} ${error.message}`);
  // Only the error's code or name: undici messages may quote headers or the URL.
  const { code, name } = (error ?? {}) as { code?: unknown; name?: unknown };
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  if (code === 'UND_ERR_INVALID_ARG') return new PermanentActionError(`${label}: invalid request (${code})`);
  const timedOut = name === 'TimeoutError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
  const reason = timedOut ? 'timed out' : String(code ?? cause ?? name ?? 'network error');
  return new TransientActionError(`${label} failed: ${reason}`);
}
