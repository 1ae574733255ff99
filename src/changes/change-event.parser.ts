import { hash } from 'node:crypto';
import { plainToInstance } from 'class-transformer';
import { isDefined, isISO8601, isNotEmpty, isObject as isDtoObject, isString, validateSync, ValidationError } from 'class-validator';
import { PortChangeEventDto } from '../ingest/dto/port-change-event.dto';
import { ChangeEvent, EventSource, PortChangeBody } from './change-event';

export interface FieldError {
  /** Dotted path into the body as sent, e.g. `context.blueprint` or `event.diff.before`. */
  field: string;
  message: string;
}

export interface ParseMeta {
  source: EventSource;
  receivedAt: string;
}

export type ParseResult = { ok: true; event: ChangeEvent } | { ok: false; errors: FieldError[] };

type JsonObject = Record<string, unknown>;

/**
 * Turns any accepted Port body (changelog webhook, Kafka `change.log` message, Automation
 * webhook with or without the `{event}` envelope) into one ChangeEvent, or lists every field error.
 */
export function parsePortBody(raw: unknown, meta: ParseMeta): ParseResult {
  if (!isObject(raw)) return fail('body', 'body must be a JSON object');
  // Anything deeper could not be written to the record or the rules' context (JSON.stringify runs out
  // of stack near 4,000 levels), nor walked by the recursion below: refused before anything else.
  if (nestedDeeperThan(raw, MAX_DEPTH)) return fail('body', TOO_DEEP);
  // Automation trigger data has no top-level resourceType; a changelog body always does.
  const wrapped = isObject(raw.event) && raw.resourceType === undefined;
  const body = withContextNames(wrapped ? (raw.event as JsonObject) : raw);
  if (!passesDto(body)) {
    const errors = dtoErrors(body, wrapped ? 'event' : '');
    if (errors.length > 0) return { ok: false, errors };
  }
  const valid = body as PortChangeBody;
  const action = valid.action.toUpperCase();
  const event: ChangeEvent = {
    id: eventId(valid, action),
    source: meta.source,
    receivedAt: meta.receivedAt,
    action,
    resourceType: valid.resourceType,
    blueprint: valid.context.blueprint ?? null,
    entity: valid.context.entity ?? null,
    body: valid,
  };
  return { ok: true, event };
}

/**
 * Levels of objects and arrays a body may have, itself the first: far beyond any Port entity, and
 * within what jq parses. Port's jq (1.6) refuses input nested more than 256 deep, counting an object
 * as two: a deeper body would be recorded and then fail every jq condition and template, each rule
 * skipped with a warning. The rules see the body at the top of their context, no deeper.
 */
export const MAX_DEPTH = 125;
const TOO_DEEP = `body is nested too deeply (more than ${MAX_DEPTH} levels of objects and arrays, which jq could not read)`;

/** Whether objects and arrays nest more than `levels` deep in `value` (an object is one level). Stops at the limit. */
function nestedDeeperThan(value: unknown, levels: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (levels === 0) return true;
  // Loops, not Object.values().some(): this walks every body, and allocating per object cost 2.5x.
  if (Array.isArray(value)) {
    for (const item of value) if (nestedDeeperThan(item, levels - 1)) return true;
    return false;
  }
  for (const key in value) if (nestedDeeperThan((value as JsonObject)[key], levels - 1)) return true;
  return false;
}

/**
 * Automation events name the context keys differently; fill the changelog names, keep the originals.
 * An Automation's run event has only the action in its context: the run's blueprint, entity and id
 * are in the run itself (`diff.after`, or `diff.before`), where a changelog run event has them in
 * its context.
 */
function withContextNames(body: JsonObject): JsonObject {
  const context = body.context;
  if (!isObject(context)) return body;
  const filled: JsonObject = { ...context };
  if (context.blueprint == null && context.blueprintIdentifier !== undefined) filled.blueprint = context.blueprintIdentifier;
  if (context.entity == null && context.entityIdentifier !== undefined) filled.entity = context.entityIdentifier;
  if (body.resourceType === 'run' && isObject(body.diff)) {
    const run = isObject(body.diff.after) ? body.diff.after : isObject(body.diff.before) ? body.diff.before : undefined;
    const identifierOf = (value: unknown) => (isObject(value) && typeof value.identifier === 'string' ? value.identifier : undefined);
    if (filled.blueprint == null && identifierOf(run?.blueprint) !== undefined) filled.blueprint = identifierOf(run!.blueprint)!;
    if (filled.entity == null && identifierOf(run?.entity) !== undefined) filled.entity = identifierOf(run!.entity)!;
    if (filled.runId == null && typeof run?.id === 'string') filled.runId = run.id;
  }
  return { ...body, context: filled };
}

const optional = (value: unknown, check: (value: unknown) => boolean): boolean => value === null || value === undefined || check(value);
const field = (value: unknown, key: string): unknown => (value as JsonObject)[key];

/**
 * PortChangeEventDto's rules, checked with class-validator's own functions. A body that passes
 * (nearly every one) skips the DTO's copy and metadata walk, a fifth of the ingest CPU measured;
 * one that fails goes through the DTO for its field errors. The spec holds the two to the same
 * verdict over every field and every kind of value.
 */
export function passesDto(body: JsonObject): boolean {
  const { action, resourceType, status, trigger, context, diff } = body;
  return (
    isString(action) && isNotEmpty(action) &&
    isString(resourceType) && isNotEmpty(resourceType) &&
    optional(status, isString) &&
    optional(trigger, (t) => isDtoObject(t) && optional(field(t, 'by'), isDtoObject) && optional(field(t, 'at'), (at) => isISO8601(at, { strict: true }))) &&
    isDefined(context) && isDtoObject(context) &&
    isString(field(context, 'blueprint')) && isNotEmpty(field(context, 'blueprint')) &&
    optional(field(context, 'entity'), isString) && optional(field(context, 'runId'), isString) &&
    optional(diff, (d) => isDtoObject(d) && optional(field(d, 'before'), isDtoObject) && optional(field(d, 'after'), isDtoObject))
  );
}

/**
 * The DTO gets a transformed copy, so the body kept for rules is exactly what was sent.
 * One message per field (stopAtFirstError), but every invalid field is still reported.
 */
export function dtoErrors(body: JsonObject, prefix = ''): FieldError[] {
  const errors = validateSync(plainToInstance(PortChangeEventDto, validationView(body)), { stopAtFirstError: true });
  const out: FieldError[] = [];
  collect(errors, prefix, out);
  return out;
}

/**
 * Only the fields the DTO checks, with entity snapshots reduced to their kind (the DTO only asks
 * "object or null?"), so class-transformer does not deep-copy a large entity on every request.
 */
function validationView(body: JsonObject): JsonObject {
  const { action, resourceType, status, trigger, context, diff } = body;
  return {
    action,
    resourceType,
    status,
    context,
    trigger: isObject(trigger) ? { at: trigger.at, by: kindOf(trigger.by) } : trigger,
    diff: isObject(diff) ? { before: kindOf(diff.before), after: kindOf(diff.after) } : diff,
  };
}

function kindOf(value: unknown): unknown {
  if (Array.isArray(value)) return [];
  return isObject(value) ? {} : value;
}

function collect(errors: ValidationError[], parent: string, out: FieldError[]): void {
  for (const error of errors) {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const messages = Object.values(error.constraints ?? {});
    if (messages.length > 0) out.push({ field, message: messages.join('; ') });
    if (error.children?.length) collect(error.children, field, out);
  }
}

function eventId(body: PortChangeBody, action: string): string {
  // Hash of the change's identity, not its bytes: relays re-serialise and envelopes differ, the change does not.
  const identity = {
    action,
    resourceType: body.resourceType,
    blueprint: body.context.blueprint ?? null,
    entity: body.context.entity ?? null,
    at: body.trigger?.at ?? null,
    before: body.diff?.before ?? null,
    after: body.diff?.after ?? null,
    runId: body.context.runId ?? null,
  };
  // crypto.hash: one call, half the cost of createHash().update().digest().
  return `evt_${hash('sha256', canonicalJson(identity)).slice(0, 32)}`;
}

/**
 * JSON with the keys of every object sorted: a sorted copy of the value, serialised without a
 * replacer. A replacer function takes JSON.stringify off its fast path for every value, objects and
 * primitives alike; the copy costs less than that (23 -> 17 µs for the vm sample's identity). JS
 * still puts integer-like keys first, in numeric order: the result stays independent of the input's
 * key order, which is all the dedupe key needs.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortedCopy(value)) ?? 'null';
}

function sortedCopy(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return sortedCopy((value as { toJSON(): unknown }).toJSON());
  if (Array.isArray(value)) return value.map(sortedCopy);
  // A plain object, not a null-prototype one: V8 keeps those in dictionary mode, and serialising them
  // took a third longer. A parsed "__proto__" key is defined as data instead of invoking the setter.
  const source = value as JsonObject;
  const sorted: JsonObject = {};
  for (const key of Object.keys(source).sort()) {
    if (key === '__proto__') Object.defineProperty(sorted, key, { value: sortedCopy(source[key]), enumerable: true, writable: true, configurable: true });
    else sorted[key] = sortedCopy(source[key]);
  }
  return sorted;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fail(field: string, message: string): ParseResult {
  return { ok: false, errors: [{ field, message }] };
}
