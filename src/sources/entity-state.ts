import { createHash } from 'node:crypto';
import type { EntitySnapshot } from '../changes/change-event';
import { canonicalJson } from '../changes/change-event.parser';

/** The fields whose change is a change of the entity; Port's metadata (`updatedAt`, …) is not. */
export const COMPARED_FIELDS = ['properties', 'relations', 'title', 'team', 'icon'] as const;

/** The last state of one entity as the service saw it, as kept in Redis. */
export interface StoredEntityState {
  fingerprint: string;
  /** The exact value in Redis (`<fingerprint> <json>`): what a compare-and-set expects. */
  raw: string;
}

/**
 * Hash of the compared fields, over canonical JSON with null members dropped: Port reports an
 * unset property as null or leaves it out depending on the route, and both mean "no value".
 */
export function entityFingerprint(entity: EntitySnapshot): string {
  const compared: Record<string, unknown> = {};
  for (const field of COMPARED_FIELDS) compared[field] = entity[field];
  return createHash('sha256').update(canonicalJson(withoutNulls(compared))).digest('hex').slice(0, 32);
}

/** The fingerprint first, so a run compares thousands of entities without parsing their JSON. */
export function encodeEntityState(entity: EntitySnapshot): string {
  return `${entityFingerprint(entity)} ${JSON.stringify(entity)}`;
}

export function storedState(raw: string): StoredEntityState {
  return { fingerprint: raw.slice(0, raw.indexOf(' ')), raw };
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
