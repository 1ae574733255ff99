/** Values for `${NAME}` placeholders (the process environment at boot). */
export type SecretEnv = Readonly<Record<string, string | undefined>>;

// `${NAME}`, or its escape `$${NAME}`. The one grammar shared by the loader, the renderer and resolveSecrets.
const PLACEHOLDER = /\$?\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * Replaces `${NAME}` by `env[NAME]` in every string of `value` (objects and arrays walked,
 * other values untouched). `$${NAME}` is an escape and becomes the literal `${NAME}`; an
 * unknown name is left as written. Returns a copy; the input is not modified.
 */
export function resolveSecrets<T>(value: T, env: SecretEnv): T {
  return resolve(value, env) as T;
}

/** The names of the `${NAME}` placeholders in `text` (escaped `$${NAME}` not counted). */
export function placeholderNames(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].filter(([match]) => !match.startsWith('$$')).map(([, name]) => name);
}

/**
 * Makes text that did not come from the rules file (jq results, Port data) inert: every
 * placeholder or escape in it gets one more `$`, so resolveSecrets gives the text back as it was
 * instead of a secret.
 */
export function escapePlaceholders(text: string): string {
  return text.includes('${') ? text.replace(PLACEHOLDER, '$$$&') : text;
}

/**
 * escapePlaceholders for a string assembled from rules-file text and foreign text: only the
 * placeholders that touch a foreign range `[start, end)` are escaped, so `${NAME}` written in the
 * file still resolves while a jq result can neither contain nor complete one.
 */
export function escapePlaceholdersIn(text: string, foreign: ReadonlyArray<readonly [number, number]>): string {
  if (foreign.length === 0 || !text.includes('${')) return text;
  return text.replace(PLACEHOLDER, (match: string, _name: string, offset: number) =>
    foreign.some(([start, end]) => start < offset + match.length && offset < end) ? `$${match}` : match,
  );
}

/** escapePlaceholders on every string value of a JSON value (keys are never resolved, so left alone). */
export function escapePlaceholdersDeep(value: unknown): unknown {
  if (typeof value === 'string') return escapePlaceholders(value);
  if (Array.isArray(value)) return value.map(escapePlaceholdersDeep);
  if (isPlainObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, escapePlaceholdersDeep(item)]));
  }
  return value;
}

function resolve(value: unknown, env: SecretEnv): unknown {
  if (typeof value === 'string') return resolveString(value, env);
  if (Array.isArray(value)) return value.map((item) => resolve(item, env));
  if (isPlainObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolve(item, env)]));
  }
  return value;
}

function resolveString(text: string, env: SecretEnv): string {
  return text.replace(PLACEHOLDER, (match: string, name: string) => {
    if (match.startsWith('$$')) return match.slice(1);
    return env[name] ?? match;
  });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
