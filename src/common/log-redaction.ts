/** What replaces a secret in a log line. */
export const CENSOR = '[redacted]';

/**
 * Keys whose values are secrets wherever they appear in a logged object, in any letter case:
 * credential headers (`authorization`, `cookie`, Port's signature, API keys), Slack webhook URLs
 * (the URL is the credential), Port's client secret and access tokens.
 */
const SECRET_KEY = /^(?:authorization|cookie|x-port-signature|x-api-key|webhookurl|clientsecret|accesstoken)$/i;

/** Deeper than any line we write; a deeper value is logged as is (its keys are not ours). */
const MAX_DEPTH = 6;

/**
 * pino's `formatters.log`: the logged object with every secret-named key's value replaced, at any
 * depth (plain objects and arrays). Copy on write: the caller's object is never changed, and a line
 * with no secret (nearly every one) allocates nothing.
 *
 * Not pino's `redact` option: its wildcard paths (`*.webhookUrl`) re-parse every path and clone each
 * top-level value of every line, which made log lines a sixth of all that an api or worker process
 * allocated at 1000 events/s, and more minor GCs (pauses) with it.
 */
export function redactSecrets<T extends object>(object: T): T {
  return redactValue(object, 0) as T;
}

function redactValue(value: unknown, depth: number): unknown {
  if (typeof value !== 'object' || value === null || depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) return redactArray(value, depth);
  // A Date, Buffer and the like serialise through toJSON. An Error is walked too: its own properties
  // are logged (pino's err serializer copies them), and a copy keeps its prototype, message and stack.
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return value;
  return redactObject(value as Record<string, unknown>, depth);
}

function redactObject(object: Record<string, unknown>, depth: number): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  // for...in rather than Object.keys: no array per object.
  for (const key in object) {
    if (!Object.prototype.hasOwnProperty.call(object, key)) continue;
    const value = object[key];
    const redacted = SECRET_KEY.test(key) && value !== undefined && value !== null ? CENSOR : redactValue(value, depth + 1);
    if (redacted === value) continue;
    copy ??= copyOf(object);
    copy[key] = redacted;
  }
  return copy ?? object;
}

function copyOf(object: Record<string, unknown>): Record<string, unknown> {
  const proto = Object.getPrototypeOf(object) as object | null;
  if (proto === Object.prototype) return { ...object };
  return Object.create(proto, Object.getOwnPropertyDescriptors(object)) as Record<string, unknown>;
}

function redactArray(array: unknown[], depth: number): unknown[] {
  let copy: unknown[] | undefined;
  for (let i = 0; i < array.length; i += 1) {
    const redacted = redactValue(array[i], depth + 1);
    if (redacted === array[i]) continue;
    copy ??= array.slice();
    copy[i] = redacted;
  }
  return copy ?? array;
}

/** Query parameters whose values are credentials, by name in any letter case (`?token=`, `?access_token=`, `?api_key=`, …). */
const SECRET_PARAM = /token|secret|password|passwd|key|auth|signature|sig$|code$/i;

/**
 * A request URL as it may appear in a log line: the values of credential-named query parameters
 * replaced. A caller who puts the admin token in the URL is refused (only the Authorization header
 * counts) but the refusal is logged, with its URL.
 */
export function loggableUrl(url: string): string {
  const query = url.indexOf('?');
  if (query < 0 || !SECRET_PARAM.test(url.slice(query + 1))) return url;
  const params = new URLSearchParams(url.slice(query + 1));
  for (const name of new Set(params.keys())) if (SECRET_PARAM.test(name)) params.set(name, CENSOR);
  return `${url.slice(0, query)}?${params.toString()}`;
}

/** A URL cut to its origin and path: no user, password, query or fragment (a relay's token) reaches a log line. */
export function urlOriginAndPath(raw: string | undefined): string | undefined {
  try {
    const url = new URL(raw ?? '');
    return `${url.origin}${url.pathname}`;
  } catch {
    return undefined;
  }
}
