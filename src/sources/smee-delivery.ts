/** What smee.io sends for one delivery, made into the request to forward; or why it is skipped. */
export type SmeeDelivery = { headers: Record<string, string>; body: string } | { skip: string };

// Not forwarded: smee's own keys, and what the request to our route sets itself.
const NOT_HEADERS = new Set(['body', 'query', 'timestamp', 'host', 'content-length', 'content-type', 'connection', 'transfer-encoding']);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE = /^[^\r\n\0]*$/;

/**
 * A smee message's data (`{ ...request headers, body, query, timestamp }`, as smee.io and
 * smee-client speak it) as the request smee-client would make: the body re-serialised as JSON, the
 * other keys as headers (a key that is no header name, or a value that is not a one-line string, is
 * left out). Data that is not such a delivery is a reason to skip the message (named, never quoted:
 * it may hold a payload).
 */
export function smeeDelivery(data: unknown): SmeeDelivery {
  if (typeof data !== 'string') return { skip: 'no data' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return { skip: 'its data is not JSON' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { skip: 'its data is not a JSON object' };
  const message = parsed as Record<string, unknown>;
  if (message.body === undefined) return { skip: 'it carries no body' };
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  for (const [name, value] of Object.entries(message)) {
    const lower = name.toLowerCase();
    if (NOT_HEADERS.has(lower)) continue;
    // One that cannot be sent is left out (as a proxy would); a signature header among them fails the check, as it should.
    if (typeof value === 'string' && HEADER_NAME.test(name) && HEADER_VALUE.test(value)) headers[lower] = value;
  }
  return { headers, body: JSON.stringify(message.body) };
}
