const DEFAULT_MS = 1_000;
const MAX_MS = 10 * 60_000;

/**
 * Milliseconds to wait from a `Retry-After` header (delay in seconds or an HTTP date),
 * 1 s when absent or unreadable, never more than 10 minutes.
 */
export function retryAfterMs(header: string | string[] | undefined, now: number = Date.now()): number {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return DEFAULT_MS;
  const ms = /^\d+(\.\d+)?$/.test(value) ? Number(value) * 1_000 : Date.parse(value) - now;
  if (Number.isNaN(ms)) return DEFAULT_MS;
  return Math.min(Math.max(Math.ceil(ms), 0), MAX_MS);
}
