import { Injectable, Logger } from '@nestjs/common';
// ESM-only; the compiled require() loads it natively on Node >= 20.19 and yields the class itself.
import SmeeClient from 'smee-client';
import { Agent, request } from 'undici';
import { urlOriginAndPath } from '../common/log-redaction';
import { withTimeout } from '../common/with-timeout';
import { AppConfig } from '../config/app-config';
import { ChangeEventSource, EventSourceStatus } from './event-source';
import { smeeDelivery } from './smee-delivery';

const MAX_RESTART_DELAY_MS = 30_000;
const STOP_DRAIN_MS = 5_000;

/**
 * Local development: relays a smee.io channel to the service's own `POST /webhooks/port`, so
 * the signature check, validation and dedupe are the webhook's. Payloads are never logged.
 *
 * smee-client keeps the stream (connection, reconnection); the forwarding is ours (`forward: false`
 * and our own message handler): smee-client's parses each message outside its error handling, in an
 * async listener, so one message that is not a smee delivery (`data: null`) was an unhandled
 * rejection that ended the process. Ours skips such a message with a warning, and `stop()` waits
 * for the deliveries already on their way, so a shutdown does not cut what was read from the channel.
 */
@Injectable()
export class SmeeForwarderService implements ChangeEventSource {
  readonly name = 'smee';
  private readonly logger = new Logger(SmeeForwarderService.name);
  private client?: SmeeClient;
  private state: EventSourceStatus['state'] = 'stopped';
  private restartTimer?: NodeJS.Timeout;
  private restarts = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private agent?: Agent;

  constructor(private readonly config: AppConfig) {}

  async start(): Promise<void> {
    if (!this.config.smeeUrl || this.client) return;
    this.logger.log(`Forwarding smee channel ${this.channel()} to POST /webhooks/port`);
    this.connect('starting');
  }

  async stop(): Promise<void> {
    clearTimeout(this.restartTimer);
    const client = this.client;
    this.client = undefined;
    this.state = 'stopped';
    this.restarts = 0;
    await client?.stop();
    await withTimeout(Promise.allSettled(this.inFlight), STOP_DRAIN_MS, 'smee deliveries still on their way').catch((error: Error) => this.logger.warn(error.message));
    await this.agent?.close();
    this.agent = undefined;
  }

  status(): EventSourceStatus {
    return { name: this.name, state: this.state, detail: this.config.smeeUrl ? this.channel() : undefined };
  }

  private connect(state: 'starting' | 'reconnecting'): void {
    this.state = state;
    const client = new SmeeClient({ source: this.config.smeeUrl!, target: this.target(), logger: this.smeeLogger, forward: false });
    client.onmessage = (message: MessageEvent) => {
      if (client !== this.client) return;
      const delivery = this.forward(message.data);
      this.inFlight.add(delivery);
      void delivery.finally(() => this.inFlight.delete(delivery));
    };
    client.onopen = () => {
      if (client !== this.client) return;
      this.state = 'connected';
      this.restarts = 0;
    };
    client.onerror = (event) => this.onError(client, event.code);
    this.client = client;
    // start() rejects on the first error, which onerror has already handled.
    client.start().catch(() => undefined);
  }

  /**
   * eventsource retries a dropped stream or a network error by itself (every 3 s) and reports it
   * without a code; a non-200 answer (smee.io answers 502/503 while it restarts) it gives up on
   * for good, reported with the HTTP status, so that one is retried here with a fresh client;
   * except a refusal (a 4xx: channel disabled, proxy auth), which retrying will not change.
   */
  private onError(client: SmeeClient, httpStatus: number | undefined): void {
    if (client !== this.client) return;
    this.state = 'reconnecting';
    if (httpStatus === undefined) return;
    void client.stop();
    if (httpStatus >= 400 && httpStatus < 500 && httpStatus !== 429) {
      this.state = 'failed';
      this.logger.error(`smee channel ${this.channel()} answered HTTP ${httpStatus}; not retrying`);
      return;
    }
    const delay = Math.min(1_000 * 2 ** this.restarts++, MAX_RESTART_DELAY_MS);
    this.restartTimer = setTimeout(() => this.connect('reconnecting'), delay);
  }

  /** One smee message to our webhook route; never throws (what goes wrong is logged, without the payload). */
  private async forward(data: unknown): Promise<void> {
    const delivery = smeeDelivery(data);
    if ('skip' in delivery) return void this.logger.warn(`smee message skipped: ${delivery.skip}`);
    try {
      this.agent ??= new Agent({ connections: 8 });
      const response = await request(this.target(), { method: 'POST', headers: delivery.headers, body: delivery.body, dispatcher: this.agent });
      await response.body.dump();
      // The route logs its own refusals (why, with the request id); this says where it came from.
      if (response.statusCode >= 300) this.logger.warn(`smee delivery answered ${response.statusCode} by POST /webhooks/port`);
    } catch (error) {
      this.logger.warn(`smee delivery not forwarded: ${describe(error)}`);
    }
  }

  private target(): string {
    return `http://127.0.0.1:${this.config.http.port}/webhooks/port`;
  }

  /** Host and path only: a smee channel is not a secret, but its query (a token) may be. */
  private channel(): string {
    const url = new URL(this.config.smeeUrl!);
    return `${url.host}${url.pathname}`;
  }

  // smee-client and eventsource name the channel URL in their lines (`Connected to <url>`), query and all.
  private readonly smeeLogger = {
    info: (...args: unknown[]) => this.logger.log(withoutUrlSecrets(args.map(describe).filter(Boolean).join(' '))),
    error: (...args: unknown[]) => this.logger.warn(withoutUrlSecrets(args.map(describe).filter(Boolean).join(': '))),
  };
}

/** Every URL in a line cut to host and path: no user, password, query or fragment reaches the log. */
function withoutUrlSecrets(line: string): string {
  return line.replace(/\bhttps?:\/\/[^\s"'<>]+/g, (match) => urlOriginAndPath(match) ?? '<a URL>');
}

/** smee-client logs strings, fetch errors and eventsource ErrorEvents (which are not Errors). */
function describe(value: unknown): string {
  if (typeof value !== 'object' || value === null) return String(value);
  const { message, code, cause } = value as { message?: unknown; code?: unknown; cause?: { code?: unknown } };
  return [message, code ?? cause?.code].filter((part) => part !== undefined && part !== '').join(' ');
}
