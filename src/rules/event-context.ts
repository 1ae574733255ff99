import type { Change, ChangeEvent, EntitySnapshot } from '../changes/change-event';
import type { JqContext } from './jq-batch';

/**
 * The context jq conditions and `{{ }}` templates see, without `.rule` (added per rule): the Port
 * body as received plus `.entity`, `.changes` and `.event`.
 */
export function eventContext(event: ChangeEvent, changes: Change[]): Record<string, unknown> {
  // Rest-destructuring copies by a slow generic path; a body without `rule` (every changelog) is spread as is.
  const body = 'rule' in event.body ? withoutRule(event.body) : event.body;
  return {
    ...body,
    entity: entityOf(event),
    changes,
    event: { id: event.id, source: event.source, receivedAt: event.receivedAt },
  };
}

function withoutRule(body: ChangeEvent['body']): Omit<ChangeEvent['body'], 'rule'> {
  const { rule: _addedPerRule, ...rest } = body;
  return rest;
}

/** The entity as it is now: `diff.after`, or `diff.before` on DELETE; null without a diff. */
export function entityOf(event: ChangeEvent): EntitySnapshot | null {
  const diff = event.body.diff;
  return (event.action === 'DELETE' ? diff?.before : diff?.after) ?? null;
}

/** Builds the context once and serialises it once, on first use, for every jq call of one event. */
export class EventContextJson implements JqContext {
  private built: Record<string, unknown> | undefined;
  private json: string | undefined;

  constructor(
    private readonly event: ChangeEvent,
    private readonly changes: Change[],
  ) {}

  get object(): Record<string, unknown> {
    this.built ??= eventContext(this.event, this.changes);
    return this.built;
  }

  get value(): string {
    this.json ??= JSON.stringify(this.object);
    return this.json;
  }
}
