import type { ChangeEvent, EntitySnapshot } from '../changes/change-event';
import { parsePortBody } from '../changes/change-event.parser';
import { entityFingerprint, storedEntity, type StoredEntityState } from './entity-state';

export type ReconcileAction = 'CREATE' | 'UPDATE' | 'DELETE';

/** A change the service missed: what it last saw of an entity differs from what Port has now. */
export interface EntityDifference {
  action: ReconcileAction;
  entity: string;
  /** The stored value compared against (null on CREATE), for the store's compare-and-set. */
  expected: string | null;
  before: EntitySnapshot | null;
  after: EntitySnapshot | null;
}

/**
 * Port's current entities against the stored states: new identifiers are CREATEs, a different
 * fingerprint an UPDATE, a stored identifier Port no longer lists a DELETE. An entity listed twice
 * (it moved between pages while they were read) counts once, as its last listing.
 */
export function diffEntityStates(stored: ReadonlyMap<string, StoredEntityState>, current: readonly EntitySnapshot[]): EntityDifference[] {
  const listed = new Map<string, EntitySnapshot>();
  for (const entity of current) {
    if (typeof entity.identifier === 'string' && entity.identifier !== '') listed.set(entity.identifier, entity);
  }
  const differences: EntityDifference[] = [];
  for (const [id, entity] of listed) {
    const state = stored.get(id);
    // Listed again after catch-up reported it deleted: created anew.
    if (!state || state.deletedAt !== undefined) differences.push({ action: 'CREATE', entity: id, expected: state?.raw ?? null, before: null, after: entity });
    else if (changedSince(state, entityFingerprint(entity))) {
      differences.push({ action: 'UPDATE', entity: id, expected: state.raw, before: storedEntity(state.raw), after: entity });
    }
  }
  for (const [id, state] of stored) {
    if (!listed.has(id) && state.deletedAt === undefined) differences.push({ action: 'DELETE', entity: id, expected: state.raw, before: storedEntity(state.raw), after: null });
  }
  return differences;
}

/**
 * The traces of deletions catch-up reported more than `ttlMs` before `now` (ms), to drop: Port's own
 * late DELETE is not expected after the dedupe window. One of an entity listed again is not among
 * them (the CREATE replaces it).
 */
export function expiredDeletions(stored: ReadonlyMap<string, StoredEntityState>, current: readonly EntitySnapshot[], now: number, ttlMs: number): { entity: string; expected: string }[] {
  const listed = new Set(current.map((entity) => entity.identifier));
  return [...stored]
    .filter(([id, state]) => state.deletedAt !== undefined && !listed.has(id) && !(now - state.deletedAt < ttlMs))
    .map(([id, state]) => ({ entity: id, expected: state.raw }));
}

/**
 * Whether the stored state differs from a listed entity's fingerprint. The stored fingerprint was
 * computed when the state was written; when it differs, the stored entity is fingerprinted again,
 * so a state written by an earlier version (which, say, counted `team: []` apart from no team) is
 * not reported as a change of every such entity.
 */
function changedSince(state: StoredEntityState, fingerprint: string): boolean {
  if (state.fingerprint === fingerprint) return false;
  const entity = storedEntity(state.raw);
  return entity === null || entityFingerprint(entity) !== fingerprint;
}

/**
 * The difference as the Port changelog body Port would have sent, normalised like any other
 * body (so its id, context and diff follow the same rules), with source `reconcile`.
 */
export function reconcileEvent(blueprint: string, difference: EntityDifference, now: string): ChangeEvent {
  const body = {
    action: difference.action,
    resourceType: 'entity',
    status: 'SUCCESS',
    trigger: { by: { orgId: 'reconcile' }, origin: 'RECONCILE', at: now },
    context: { blueprint, entity: difference.entity },
    diff: { before: difference.before, after: difference.after },
  };
  const parsed = parsePortBody(body, { source: 'reconcile', receivedAt: now });
  if (!parsed.ok) throw new Error(`the service refuses the event: ${parsed.errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`);
  return parsed.event;
}
