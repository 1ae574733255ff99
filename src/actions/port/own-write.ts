import type { ChangeEvent } from '../../changes/change-event';

/**
 * Loop guard: true when Port attributes `event` to our own credentials, i.e. it is the
 * changelog of a write this service made (Port records a machine token's writes as
 * `trigger.by.userId` = `<clientId>@clients`). The rules stage skips, for such events, every
 * rule whose actions include a `port` action, so a rule that patches an entity is not
 * triggered again by its own patch forever. `clientId` unset (no Port credentials) = false.
 */
export function isOwnWrite(event: ChangeEvent, clientId: string | undefined): boolean {
  if (!clientId) return false;
  const by = (event.body.trigger as { by?: { userId?: unknown } } | undefined)?.by;
  return by?.userId === clientId || by?.userId === `${clientId}@clients`;
}

/**
 * The loop guard applied to an event's matches: those that may run, and the ids of the rules held
 * back (a `port` action on our own write). The service and `rules test` both use it.
 */
export function guardOwnWriteLoops<M extends { ruleId: string; actions: { type: string }[] }>(
  event: ChangeEvent,
  matches: M[],
  clientId: string | undefined,
): { matches: M[]; held: string[] } {
  if (!isOwnWrite(event, clientId)) return { matches, held: [] };
  const loops = (match: M) => match.actions.some((action) => action.type === 'port');
  return { matches: matches.filter((match) => !loops(match)), held: matches.filter(loops).map((match) => match.ruleId) };
}
