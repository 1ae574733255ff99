import { Logger } from '@nestjs/common';
import type { ChangelogDestination, PortApiClient } from '../actions/port/port-api.client';
import { waitingOutRateLimits } from './rate-limit-wait';

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
    private readonly options: { consumesKafka: boolean } = { consumesKafka: false },
  ) {}

  async register(blueprints: readonly string[], publicUrl: string): Promise<RegistrationResult> {
    const destination = { type: 'WEBHOOK' as const, url: webhookUrlOf(publicUrl) };
    const result: RegistrationResult = { changed: [], unchanged: [], failed: [] };
    for (const blueprint of new Set(blueprints)) {
      try {
        const current = (await waitingOutRateLimits(() => this.port.getBlueprint(blueprint))).changelogDestination ?? null;
        const ours = current?.type === destination.type && current.url === destination.url;
        if (ours || (current?.type === 'KAFKA' && this.options.consumesKafka)) {
          if (!ours) this.logger.log(`blueprint ${blueprint}: changelogDestination left as KAFKA, which this service consumes`);
          result.unchanged.push(blueprint);
          continue;
        }
        await waitingOutRateLimits(() => this.port.patchBlueprint(blueprint, { changelogDestination: destination }));
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
  try {
    const url = new URL(raw ?? '');
    return `${url.origin}${url.pathname}`;
  } catch {
    return 'an unreadable URL';
  }
}

function describe(destination: ChangelogDestination | null): string {
  if (!destination) return 'none';
  return destination.url === undefined ? destination.type : `${destination.type} ${safeUrl(destination.url)}`;
}
