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
    this.json ??= wellFormedForJq(JSON.stringify(this.object));
    return this.json;
  }
}

// A lone UTF-16 surrogate in a string (a `\ud800` escape in the body) is written by JSON.stringify as
// that escape, which jq 1.6 refuses as invalid JSON: every jq rule of the event failed. It becomes
// U+FFFD, as a UTF-8 decoder would make it; an escaped backslash before `ud800` is left alone.
const LONE_SURROGATE = /(?<!\\)((?:\\\\)*)\\ud[89a-f][0-9a-f]{2}/g;

export function wellFormedForJq(json: string): string {
  return json.includes('\\ud') ? json.replace(LONE_SURROGATE, '$1\\ufffd') : json;
}
