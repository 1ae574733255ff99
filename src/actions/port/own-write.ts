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
