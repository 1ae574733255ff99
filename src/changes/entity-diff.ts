import type { Change, ChangeEvent, EntitySnapshot } from './change-event';
import { isPlainObject, jsonEqual } from './json-equal';

const WHOLE_VALUE_FIELDS = ['title', 'team', 'icon'] as const;

/**
 * The fields that differ between two states of a Port entity, sorted by path.
 * `properties` are flattened to dotted paths (`properties.config.replicas`); each
 * relation and `title`, `team`, `icon` are compared as whole values. An absent field and
 * a null one are the same: the absent side is reported as `null`.
 */
export function diffEntities(before: EntitySnapshot | null | undefined, after: EntitySnapshot | null | undefined): Change[] {
  const changes: Change[] = [];
  diffNested('properties', before?.properties, after?.properties, changes);
  diffEachKey('relations', before?.relations, after?.relations, changes);
  for (const field of WHOLE_VALUE_FIELDS) diffWhole(field, before?.[field], after?.[field], changes);
  return changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The changes of an entity event; none for runs, blueprints and events without a diff (TIMER_EXPIRED). */
export function changesFor(event: ChangeEvent): Change[] {
  const diff = event.body.diff;
  if (event.resourceType !== 'entity' || !diff) return [];
  return diffEntities(diff.before, diff.after);
}

function isObjectOrNothing(value: unknown): boolean {
  return value === undefined || value === null || isPlainObject(value);
}

function keysOf(...values: unknown[]): Set<string> {
  return new Set(values.flatMap((value) => (isPlainObject(value) ? Object.keys(value) : [])));
}

function child(value: unknown, key: string): unknown {
  return isPlainObject(value) ? value[key] : undefined;
}

// Recurse while both sides are objects (or one is missing) so leaves get their own path;
// anything else, arrays included, is compared whole.
function diffNested(path: string, before: unknown, after: unknown, out: Change[]): void {
  if (!isObjectOrNothing(before) || !isObjectOrNothing(after)) return diffWhole(path, before, after, out);
  for (const key of keysOf(before, after)) {
    diffNested(`${path}.${key}`, child(before, key), child(after, key), out);
  }
}

function diffEachKey(path: string, before: unknown, after: unknown, out: Change[]): void {
  if (!isObjectOrNothing(before) || !isObjectOrNothing(after)) return diffWhole(path, before, after, out);
  for (const key of keysOf(before, after)) {
    diffWhole(`${path}.${key}`, child(before, key), child(after, key), out);
  }
}

function diffWhole(path: string, before: unknown, after: unknown, out: Change[]): void {
  const from = before ?? null;
  const to = after ?? null;
  if (!jsonEqual(from, to)) out.push({ path, before: from, after: to });
}
