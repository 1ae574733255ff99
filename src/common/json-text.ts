import sjson from 'secure-json-parse';

/** Why a body with a `__proto__` key (or a `constructor.prototype`) is refused: the same words wherever a body is read. */
export const POISONING_REFUSED = 'Body holds a "__proto__" or "constructor" key, which is refused (prototype poisoning)';

/**
 * JSON text read as the webhook route reads a body (Fastify's parser is secure-json-parse with these
 * options): a leading byte order mark is skipped, a prototype-poisoning key is refused. For the
 * bodies that do not come through Fastify (Kafka messages, `rules test` event files), so a body is
 * an event on every path or on none.
 */
export function parseJsonText(text: string): { ok: true; value: unknown } | { ok: false; error: string; poisoned: boolean } {
  try {
    return { ok: true, value: sjson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' }) as unknown };
  } catch (error) {
    const poisoned = isPoisoning(text);
    return { ok: false, error: poisoned ? POISONING_REFUSED : (error as Error).message, poisoned };
  }
}

/**
 * Whether text that secure-json-parse refused is JSON after all, refused only for a poisoning key
 * (its parser reports that in the same words as broken JSON, or in its own).
 */
export function isPoisoning(text: string): boolean {
  if (!text.includes('"__proto__"') && !text.includes('"constructor"')) return false;
  try {
    JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
    return true;
  } catch {
    return false;
  }
}
