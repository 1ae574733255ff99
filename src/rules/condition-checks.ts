import { isPlainObject, jsonEqual } from '../changes/json-equal';
import { toNumber } from './dto/rule.dto';
import type { JsCondition } from './rule-compiler';

/** The value at a dotted path of an entity snapshot; a missing value is null, as in the diff. */
export function valueAt(snapshot: unknown, segments: string[]): unknown {
  let value = snapshot;
  for (const segment of segments) {
    if (!isPlainObject(value)) return null;
    value = value[segment];
  }
  return value ?? null;
}

/**
 * Checks a `changed` or `crosses` condition against the two sides of the diff. Returns why it
 * does not hold (for `rules test`), or undefined when it holds.
 */
export function whyNot(condition: JsCondition, before: unknown, after: unknown): string | undefined {
  const from = valueAt(before, condition.segments);
  const to = valueAt(after, condition.segments);
  return condition.kind === 'changed' ? whyNotChanged(condition, from, to) : whyNotCrossed(condition, from, to);
}

function whyNotChanged(condition: Extract<JsCondition, { kind: 'changed' }>, from: unknown, to: unknown): string | undefined {
  if (jsonEqual(from, to)) return `${condition.path} did not change`;
  if (condition.from && !condition.from.some((value) => jsonEqual(value, from))) {
    return `${condition.path} changed from ${show(from)}, not from ${condition.from.map(show).join(' or ')}`;
  }
  if (condition.to && !condition.to.some((value) => jsonEqual(value, to))) {
    return `${condition.path} changed to ${show(to)}, not to ${condition.to.map(show).join(' or ')}`;
  }
  return undefined;
}

function whyNotCrossed(condition: Extract<JsCondition, { kind: 'crosses' }>, from: unknown, to: unknown): string | undefined {
  const before = toNumber(from);
  const after = toNumber(to);
  const holds =
    before !== undefined &&
    after !== undefined &&
    (condition.above !== undefined ? before <= condition.above && after > condition.above : before >= condition.below! && after < condition.below!);
  if (holds) return undefined;
  const line = condition.above !== undefined ? `above ${condition.above}` : `below ${condition.below}`;
  return `${condition.path} did not cross ${line} (${show(from)} -> ${show(to)})`;
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? 'null';
  return text.length > 60 ? `${text.slice(0, 59)}…` : text;
}
