import { STATUS_CODES } from 'node:http';
import { Agent, request, type Dispatcher } from 'undici';
import { ActionError, PermanentActionError, RateLimitedActionError, TransientActionError } from '../action-errors';
import { EgressGuard } from './egress-guard';
import { retryAfterMs } from './retry-after';

export interface JsonReaderConfig {
  /** Hosts allowed even when private (see `EgressGuard`). */
  allowedHosts: readonly string[];
  /** Per-request default; 30 s when unset. */
  defaultTimeoutMs?: number;
  /** Larger answers are refused; 64 MiB when unset. */
  maxBodyBytes?: number;
}

export interface JsonReadRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  /** Sent as JSON when defined. */
  body?: unknown;
  timeoutMs?: number;
  /** Aborts the call; the promise then rejects with the signal's reason, not an `ActionError`. */
  signal?: AbortSignal;
  /** Extracts a short, secret-free reason from an error body. */
  reasonFromBody?: (body: string) => string | undefined;
}

/**
 * Reads whole JSON answers (entity pages, blueprints) that `OutboundHttpClient` would cut at
 * 16 KiB. Same egress guard and the same `ActionError` classification: 429 -> rate limited,
 * 5xx/network/timeout -> transient, other 4xx -> permanent (with its status, so 401 can refresh).
 */
export class JsonReader {
  private readonly guard: EgressGuard;
  private readonly agent: Agent;
  private readonly defaultTimeoutMs: number;
  private readonly maxBodyBytes: number;

  constructor(config: JsonReaderConfig) {
    this.guard = new EgressGuard(config);
    this.agent = new Agent({ connect: { lookup: this.guard.connectLookup } });
    this.defaultTimeoutMs = config.defaultTimeoutMs ?? 30_000;
    this.maxBodyBytes = config.maxBodyBytes ?? 64 * 1024 * 1024;
  }

  async read<T = unknown>(req: JsonReadRequest): Promise<T> {
    const url = new URL(req.url);
    const label = `${req.method.toUpperCase()} ${url.host}${url.pathname}`;
    const signals = [AbortSignal.timeout(req.timeoutMs ?? this.defaultTimeoutMs), ...(req.signal ? [req.signal] : [])];
    let text: string;
    let response: Dispatcher.ResponseData;
    try {
      this.guard.assertAllowed(url);
      response = await request(url, {
        dispatcher: this.agent,
        method: req.method.toUpperCase() as Dispatcher.HttpMethod,
        headers: { accept: 'application/json', ...(req.body !== undefined ? { 'content-type': 'application/json' } : {}), ...req.headers },
        body: req.body !== undefined ? JSON.stringify(req.body) : undefined,
        signal: AbortSignal.any(signals),
      });
      text = await readLimited(response.body, this.maxBodyBytes, label);
    } catch (error) {
      if (req.signal?.aborted) throw req.signal.reason;
      throw networkError(label, error);
    }
    if (response.statusCode >= 400) throw statusError(label, response.statusCode, response.headers['retry-after'], req.reasonFromBody?.(text));
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new TransientActionError(`${label} -> ${response.statusCode} but the answer is not JSON`, response.statusCode);
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

async function readLimited(body: Dispatcher.ResponseData['body'], limit: number, label: string): Promise<string> {
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
  if (error instanceof ActionError) return error;
  // Only the error's code or name: undici messages may quote headers or the URL.
  const { code, name } = (error ?? {}) as { code?: unknown; name?: unknown };
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  const reason = name === 'TimeoutError' ? 'timed out' : String(code ?? cause ?? name ?? 'network error');
  return new TransientActionError(`${label} failed: ${reason}`);
}
