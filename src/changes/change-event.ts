/** Where an event entered the service. */
export type EventSource = 'webhook' | 'kafka' | 'smee' | 'reconcile' | 'replay';

export type EntitySnapshot = Record<string, unknown>;

/**
 * The one internal shape of a Port change, whatever body it arrived as
 * (legacy changelog webhook, Kafka `ORG_ID.change.log`, Automation webhook).
 */
export interface ChangeEvent {
  /** Deterministic id derived from the event's identity; also the dedupe key. */
  id: string;
  source: EventSource;
  /** ISO time the service received it. */
  receivedAt: string;
  /** Upper-cased Port action: CREATE | UPDATE | DELETE | TIMER_EXPIRED | … */
  action: string;
  resourceType: string;
  blueprint: string | null;
  entity: string | null;
  /**
   * The Port body as received (Automation envelope unwrapped), with `context.blueprint`
   * and `context.entity` filled in when the body only had the Automation names.
   * Unknown fields are kept.
   */
  body: PortChangeBody;
}

export interface PortChangeBody {
  action: string;
  resourceType: string;
  status?: string;
  trigger?: Record<string, unknown>;
  context: { blueprint?: string | null; entity?: string | null; [key: string]: unknown };
  diff?: { before?: EntitySnapshot | null; after?: EntitySnapshot | null } | null;
  [key: string]: unknown;
}

/** One changed field between `diff.before` and `diff.after`. */
export interface Change {
  /** Dotted path such as `properties.healthStatus` or `relations.using`. */
  path: string;
  before: unknown;
  after: unknown;
}
