import { Injectable, Logger } from '@nestjs/common';
// ESM-only; the compiled require() loads it natively on Node >= 20.19 and yields the class itself.
import SmeeClient from 'smee-client';
import { AppConfig } from '../config/app-config';
import { ChangeEventSource, EventSourceStatus } from './event-source';

const MAX_RESTART_DELAY_MS = 30_000;

/**
 * Local development: relays a smee.io channel to the service's own `POST /webhooks/port`, so
 * the signature check, validation and dedupe are the webhook's. Payloads are never logged.
 */
@Injectable()
export class SmeeForwarderService implements ChangeEventSource {
  readonly name = 'smee';
  private readonly logger = new Logger(SmeeForwarderService.name);
  private client?: SmeeClient;
  private state: EventSourceStatus['state'] = 'stopped';
  private restartTimer?: NodeJS.Timeout;
  private restarts = 0;

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
  }

  status(): EventSourceStatus {
    return { name: this.name, state: this.state, detail: this.config.smeeUrl ? this.channel() : undefined };
  }

  private connect(state: 'starting' | 'reconnecting'): void {
    this.state = state;
    const client = new SmeeClient({ source: this.config.smeeUrl!, target: `http://127.0.0.1:${this.config.http.port}/webhooks/port`, logger: this.smeeLogger });
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

  /** Host and path only: a smee channel is not a secret, but there is no reason to log more. */
  private channel(): string {
    const url = new URL(this.config.smeeUrl!);
    return `${url.host}${url.pathname}`;
  }

  private readonly smeeLogger = {
    info: (...args: unknown[]) => this.logger.log(args.map(describe).filter(Boolean).join(' ')),
    error: (...args: unknown[]) => this.logger.warn(args.map(describe).filter(Boolean).join(': ')),
  };
}

/** smee-client logs strings, fetch errors and eventsource ErrorEvents (which are not Errors). */
function describe(value: unknown): string {
  if (typeof value !== 'object' || value === null) return String(value);
  const { message, code, cause } = value as { message?: unknown; code?: unknown; cause?: { code?: unknown } };
  return [message, code ?? cause?.code].filter((part) => part !== undefined && part !== '').join(' ');
}
