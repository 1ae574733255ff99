import { Logger } from '@nestjs/common';
import type { ChangelogDestination, PortApiClient } from '../actions/port/port-api.client';
import { setTimeout as sleep } from 'node:timers/promises';
import { TransientActionError } from '../actions/action-errors';
import { urlOriginAndPath } from '../common/log-redaction';
import { waitingOutRateLimits } from './rate-limit-wait';

/** Registration runs once, at start: a Port 5xx or a dropped connection is tried again twice (1 s, then 2 s) before the blueprint is left failed. */
const TRANSIENT_TRIES = 3;

async function retryingTransient<T>(call: () => Promise<T>, pauseMs: number): Promise<T> {
  for (let tries = 1; ; tries += 1) {
    try {
      return await waitingOutRateLimits(call);
    } catch (error) {
      if (!(error instanceof TransientActionError) || tries >= TRANSIENT_TRIES) throw error;
      await sleep(pauseMs * 2 ** (tries - 1));
    }
  }
}

export interface RegistrationChange {
  blueprint: string;
  /** What the blueprint had before, if anything. */
  previous: ChangelogDestination | null;
  destination: { type: 'WEBHOOK'; url: string };
}

export interface RegistrationResult {
  changed: RegistrationChange[];
  /** Already pointing at this service: left alone. */
  unchanged: string[];
  /** Could not be read or patched (logged). */
  failed: string[];
}

/**
 * `REGISTER_CHANGELOG_DESTINATION=true`: points each blueprint the rules name at this service's
 * webhook route. Idempotent: a blueprint already pointing here is not patched, nor, when this
 * service consumes Kafka (`KAFKA_BROKERS`), one whose changelog goes to Kafka. Replacing another
 * destination (another tool's webhook) is a warning: it names what was there. Provided with a factory.
 */
export class ChangelogRegistrationService {
  private readonly logger = new Logger(ChangelogRegistrationService.name);

  constructor(
    private readonly port: Pick<PortApiClient, 'getBlueprint' | 'patchBlueprint'>,
    private readonly options: { consumesKafka: boolean; retryPauseMs?: number } = { consumesKafka: false },
  ) {}

  async register(blueprints: readonly string[], publicUrl: string): Promise<RegistrationResult> {
    const destination = { type: 'WEBHOOK' as const, url: webhookUrlOf(publicUrl) };
    const result: RegistrationResult = { changed: [], unchanged: [], failed: [] };
    for (const blueprint of new Set(blueprints)) {
      try {
        const pause = this.options.retryPauseMs ?? 1_000;
        const current = (await retryingTransient(() => this.port.getBlueprint(blueprint), pause)).changelogDestination ?? null;
        const ours = current?.type === destination.type && current.url === destination.url;
        if (ours || (current?.type === 'KAFKA' && this.options.consumesKafka)) {
          if (!ours) this.logger.log(`blueprint ${blueprint}: changelogDestination left as KAFKA, which this service consumes`);
          result.unchanged.push(blueprint);
          continue;
        }
        await retryingTransient(() => this.port.patchBlueprint(blueprint, { changelogDestination: destination }), pause);
        result.changed.push({ blueprint, previous: current, destination });
        this.logger[current ? 'warn' : 'log'](`blueprint ${blueprint}: changelogDestination set to WEBHOOK ${safeUrl(destination.url)} (was ${describe(current)})`);
      } catch (error) {
        result.failed.push(blueprint);
        this.logger.error(`blueprint ${blueprint}: changelogDestination not registered: ${(error as Error).message}`);
      }
    }
    return result;
  }
}

/**
 * The webhook route under PUBLIC_URL: the path gets `/webhooks/port` (once: a PUBLIC_URL that already
 * ends with it is taken as it is), a query (a relay's key) stays after the path, a fragment is dropped.
 */
export function webhookUrlOf(publicUrl: string): string {
  const url = new URL(publicUrl);
  const path = url.pathname.replace(/\/+$/, '');
  url.pathname = path.endsWith('/webhooks/port') ? path : `${path}/webhooks/port`;
  url.hash = '';
  return url.toString();
}

/** Origin and path only: a URL's credentials or query (a relay token) must not reach the logs. */
function safeUrl(raw: string | undefined): string {
  return urlOriginAndPath(raw) ?? 'an unreadable URL';
}

function describe(destination: ChangelogDestination | null): string {
  if (!destination) return 'none';
  return destination.url === undefined ? destination.type : `${destination.type} ${safeUrl(destination.url)}`;
}
