import type { JqOutcome } from './jq-batch';
import { escapePlaceholdersDeep, escapePlaceholdersIn } from './secret-placeholders';
import { findTemplateRanges } from './template-braces';

/** A value of the rules file with its `{{ jq }}` parsed; slots index the jq results given to renderTemplate. */
export type TemplateNode =
  | { kind: 'value'; value: unknown }
  | { kind: 'whole'; field: string; slot: number }
  | { kind: 'text'; field: string; parts: (string | number)[]; url?: true }
  | { kind: 'array'; items: TemplateNode[] }
  | { kind: 'object'; entries: { key: TemplateNode; value: TemplateNode }[] };

/** The fields that name where an action calls: a value from the event may not move them elsewhere. */
const URL_FIELD = /\.(http\.url|slack\.webhookUrl)$/;

/** Receives each `{{ }}` expression found; answers its slot, or undefined when it refuses it. */
export type TemplateSlotSink = (expression: string, field: string) => number | undefined;

export class TemplateError extends Error {
  override name = 'TemplateError';

  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Parses every string of `value`, object keys included. Unbalanced braces throw a TemplateError
 * naming the field; expressions go to `sink`, which checks them.
 */
export function compileTemplate(value: unknown, field: string, sink: TemplateSlotSink): TemplateNode {
  if (typeof value === 'string') return compileString(value, field, sink);
  if (Array.isArray(value)) return { kind: 'array', items: value.map((item, i) => compileTemplate(item, `${field}[${i}]`, sink)) };
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).map(([key, item]) => {
      const itemField = `${field}.${key}`;
      return { key: compileString(key, `${itemField} (key)`, sink), value: compileTemplate(item, itemField, sink) };
    });
    return { kind: 'object', entries };
  }
  return { kind: 'value', value };
}

function compileString(text: string, field: string, sink: TemplateSlotSink): TemplateNode {
  let ranges: { start: number; end: number }[];
  try {
    ranges = findTemplateRanges(text);
  } catch (error) {
    throw new TemplateError(field, `template: ${(error as Error).message}`);
  }
  if (ranges.length === 0) return { kind: 'value', value: text };
  const slots = ranges.map(({ start, end }) => sink(text.slice(start, end), field) ?? -1);
  const trimmed = text.trim();
  if (ranges.length === 1 && trimmed.startsWith('{{') && trimmed.endsWith('}}')) return { kind: 'whole', field, slot: slots[0] };
  const parts: (string | number)[] = [text.slice(0, ranges[0].start - 2)];
  ranges.forEach((range, i) => {
    const next = i + 1 === ranges.length ? text.length : ranges[i + 1].start - 2;
    parts.push(slots[i], text.slice(range.end + 2, next));
  });
  // Decided once here, not per render: values rendered into where an action calls are checked.
  return URL_FIELD.test(field) ? { kind: 'text', field, parts, url: true } : { kind: 'text', field, parts };
}

/**
 * Renders a compiled template with the jq results of its slots. A whole-string template keeps the
 * result's JSON type; others interpolate (strings raw, anything else as JSON). `${NAME}` coming
 * from a result is escaped so resolveSecrets can never turn event data into a secret.
 */
export function renderTemplate(node: TemplateNode, results: JqOutcome[]): unknown {
  switch (node.kind) {
    case 'value':
      return node.value;
    case 'whole':
      return escapePlaceholdersDeep(resultOf(results, node.slot, node.field) ?? null);
    case 'text':
      return renderText(node.parts, results, node.field, node.url === true);
    case 'array':
      return node.items.map((item) => renderTemplate(item, results));
    case 'object':
      return Object.fromEntries(node.entries.flatMap(({ key, value }) => renderEntry(key, value, results)));
  }
}

function renderText(parts: (string | number)[], results: JqOutcome[], field: string, url: boolean): string {
  let text = '';
  const foreign: [number, number][] = [];
  for (const part of parts) {
    if (typeof part === 'string') {
      text += part;
      continue;
    }
    const raw = stringOf(resultOf(results, part, field) ?? null);
    const piece = url ? placeInUrl(raw, text, field) : raw;
    foreign.push([text.length, text.length + piece.length]);
    text += piece;
  }
  return escapePlaceholdersIn(text, foreign);
}

/**
 * A `.` or `..` path segment, also percent-encoded or between backslashes (URLs read `\\` as `/`):
 * a URL drops `.` and climbs for `..`, so either changes the path the rules file wrote.
 */
const DOT_SEGMENT = /(^|[/\\])(\.|%2e){1,2}([/\\?#]|$)/i;

/** What ends a query parameter's value or the query itself, or reads as a space (`+`). */
const QUERY_VALUE_BREAKERS = /[&#+]/g;

/**
 * A value rendered into a URL's path may not climb out of it (`..` segments) or end it (`?`, `#`):
 * Port identifiers may hold `/` and `.`, so `${SCALER_URL}/services/{{ .context.entity }}/scale`
 * would otherwise call, with the scaler's token, whatever path of that host an entity's id names.
 * A value rendered as a query parameter's value (after its `=`) has its `&`, `#` and `+`
 * percent-encoded, so the target reads the value the event held ("R&D", not a parameter "D") and
 * nothing else: the rest is left as it is, so a value already encoded with jq's `@uri` is not
 * encoded twice. Elsewhere in the query a `#` is refused. Where the file puts the value (after its
 * scheme and host, after a `?`) is read from the text before it; a value that makes the whole
 * origin is the file's choice and is left alone.
 */
function placeInUrl(piece: string, before: string, field: string): string {
  if (before.includes('#')) return piece;
  const query = before.indexOf('?');
  if (query >= 0) {
    const parameter = before.slice(query + 1).split('&').pop()!;
    if (parameter.includes('=')) return piece.replace(QUERY_VALUE_BREAKERS, (char) => encodeURIComponent(char));
    if (piece.includes('#')) throw new TemplateError(field, 'template: a value rendered into the URL\'s query holds "#", which would cut the query the rules file wrote; refused');
    return piece;
  }
  const afterOrigin = /[/\\]/.test(before.replace(/^[a-z][a-z0-9+.-]*:\/\//i, ''));
  if (!afterOrigin) return piece;
  const found = DOT_SEGMENT.test(piece) ? 'a "." or ".." segment' : piece.includes('?') ? '"?"' : piece.includes('#') ? '"#"' : undefined;
  if (found) throw new TemplateError(field, `template: a value rendered into the URL's path holds ${found}, which would change the path the rules file wrote; refused`);
  return piece;
}

// Keys are never resolved for secrets, so a key is rendered without escaping. As in Port, an
// empty or null key drops the entry and any other non-string key is an error.
function renderEntry(keyNode: TemplateNode, valueNode: TemplateNode, results: JqOutcome[]): [string, unknown][] {
  const key = keyNode.kind === 'whole' ? resultOf(results, keyNode.slot, keyNode.field) : renderKeyText(keyNode, results);
  if (key === undefined || key === null || key === '') return [];
  if (typeof key !== 'string') {
    const field = 'field' in keyNode ? keyNode.field : '';
    throw new TemplateError(field, `a templated key must give a string, got ${JSON.stringify(key)}`);
  }
  return [[key, renderTemplate(valueNode, results)]];
}

function renderKeyText(keyNode: TemplateNode, results: JqOutcome[]): unknown {
  if (keyNode.kind !== 'text') return renderTemplate(keyNode, results);
  return keyNode.parts
    .map((part) => (typeof part === 'string' ? part : stringOf(resultOf(results, part, keyNode.field) ?? null)))
    .join('');
}

// Port's interpolation: strings raw, anything else as JSON.
function stringOf(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function resultOf(results: JqOutcome[], slot: number, field: string): unknown {
  const outcome = results[slot];
  if (!outcome) throw new TemplateError(field, 'template: expression was not evaluated');
  if (!outcome.ok) throw new TemplateError(field, outcome.error);
  return outcome.value;
}
