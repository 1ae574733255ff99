import { createHash } from 'node:crypto';
import type { EntitySnapshot } from '../changes/change-event';
import { canonicalJson } from '../changes/change-event.parser';

/** The fields whose change is a change of the entity; Port's metadata (`updatedAt`, …) is not. */
export const COMPARED_FIELDS = ['properties', 'relations', 'title', 'team', 'icon'] as const;

/** The last state of one entity as the service saw it, as kept in Redis. */
export interface StoredEntityState {
  fingerprint: string;
  /** The exact value in Redis (`<fingerprint>[+] <json>`): what a compare-and-set expects. */
  raw: string;
  /** Catch-up found this state and queued the change to it (`+` after the fingerprint). */
  reportedByCatchUp: boolean;
  /**
   * Set on the trace of an entity catch-up reported deleted: when (ms). Not an entity: kept only so
   * Port's own late DELETE is known as already reported (see `deletionReported`), and dropped after
   * the dedupe window (DEDUPE_TTL_SECONDS).
   */
  deletedAt?: number;
}

// After the fingerprint: this state is one catch-up reported (queued a change to), not one an event brought.
const REPORTED_MARK = '+';
// In place of a fingerprint: the entity is gone, catch-up reported its deletion (the time follows).
const DELETED = '-';
/** How the stored value of a deletion catch-up reported begins. */
export const DELETED_STATE_PREFIX = `${DELETED}${REPORTED_MARK} `;

/**
 * Hash of the compared fields, over canonical JSON with null members dropped: Port reports an
 * unset property as null or leaves it out depending on the route, and both mean "no value". So
 * for an empty `team` (`[]`) or `relations` (`{}`): a changelog body may leave out what the
 * entity listing gives as empty.
 */
export function entityFingerprint(entity: EntitySnapshot): string {
  const compared: Record<string, unknown> = {};
  for (const field of COMPARED_FIELDS) if (!isEmpty(entity[field])) compared[field] = entity[field];
  return createHash('sha256').update(canonicalJson(withoutNulls(compared))).digest('hex').slice(0, 32);
}

/**
 * The fingerprint first, so a run compares thousands of entities without parsing their JSON; marked
 * when catch-up reported the change to this state, so the event Port sends late for the same change
 * is known as one already reported (see EntityStateStore.reportedByCatchUp).
 */
export function encodeEntityState(entity: EntitySnapshot, reportedByCatchUp = false): string {
  return `${entityFingerprint(entity)}${reportedByCatchUp ? REPORTED_MARK : ''} ${JSON.stringify(entity)}`;
}

/** The trace of a deletion catch-up reported at `at` (ms): `-+ <at>`. */
export function encodeDeletedState(at: number): string {
  return `${DELETED_STATE_PREFIX}${at}`;
}

/**
 * The stored value a compare-and-set writes for `next` ('' = none): catch-up's reported states are
 * marked, and a deletion it reported is kept as a trace of its time (`reportedAt`, ms; default now).
 */
export function encodeStateUpdate(update: { next: EntitySnapshot | null; reported?: boolean; reportedAt?: number }): string {
  if (update.next) return encodeEntityState(update.next, update.reported);
  return update.reported ? encodeDeletedState(update.reportedAt ?? Date.now()) : '';
}

export function storedState(raw: string): StoredEntityState {
  if (raw.startsWith(DELETED_STATE_PREFIX)) return { fingerprint: DELETED, raw, reportedByCatchUp: true, deletedAt: Number(raw.slice(DELETED_STATE_PREFIX.length)) };
  const head = raw.slice(0, raw.indexOf(' '));
  const reportedByCatchUp = head.endsWith(REPORTED_MARK);
  return { fingerprint: reportedByCatchUp ? head.slice(0, -REPORTED_MARK.length) : head, raw, reportedByCatchUp };
}

/**
 * Whether `event` is a change catch-up already reported: the entity's stored state is one catch-up
 * queued a change to, and the event changes the entity (its compared fields) to exactly that state.
 * Port's own event for a change comes after catch-up when it was delayed, or when the service
 * missed it for a while and Port retried it; its id differs from catch-up's (the time differs).
 */
export function alreadyReported(stored: StoredEntityState | undefined, before: EntitySnapshot | null, after: EntitySnapshot): boolean {
  if (!stored?.reportedByCatchUp) return false;
  const fingerprint = entityFingerprint(after);
  return stored.fingerprint === fingerprint && (before === null || entityFingerprint(before) !== fingerprint);
}

/** Whether a DELETE is one catch-up already reported: the entity's stored state is the trace of that deletion. */
export function deletionReported(stored: StoredEntityState | undefined): boolean {
  return stored?.deletedAt !== undefined;
}

/** The entity JSON of a stored value; null when it cannot be read (a value from an older format). */
export function storedEntity(raw: string): EntitySnapshot | null {
  try {
    const parsed: unknown = JSON.parse(raw.slice(raw.indexOf(' ') + 1));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as EntitySnapshot) : null;
  } catch {
    return null;
  }
}

function isEmpty(value: unknown): boolean {
  if (value === null || value === undefined) return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && Object.keys(value).length === 0;
}

function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (typeof value !== 'object' || value === null) return value;
  // A null prototype keeps a "__proto__" key as data.
  const out = Object.create(null) as Record<string, unknown>;
  for (const [key, member] of Object.entries(value)) {
    if (member !== null && member !== undefined) out[key] = withoutNulls(member);
  }
  return out;
}
