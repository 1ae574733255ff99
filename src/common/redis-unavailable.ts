// What ioredis throws on a fail-fast connection while Redis is down or cannot take writes: no
// connection, offline queue off, a command that timed out, retries used up; a Redis still loading
// its append-only file after a restart, or one out of memory.
const REDIS_DOWN = /Stream isn't writeable|Connection is closed|Command timed out|ECONNREFUSED|ETIMEDOUT|^LOADING |^OOM /;

/** True for an error that says Redis cannot be used right now (retry later), not that a command was wrong. */
export function isRedisUnavailable(error: unknown): boolean {
  return error instanceof Error && (error.name === 'MaxRetriesPerRequestError' || REDIS_DOWN.test(error.message));
}

/** What an operator (and Port, in a 503) is told about why Redis cannot take a write now. */
export function redisUnavailableReason(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const message = cause instanceof Error ? cause.message : '';
  if (message.startsWith('OOM ')) return 'Redis is out of memory and refuses writes (maxmemory reached)';
  if (message.startsWith('LOADING ')) return 'Redis is loading its data after a restart';
  return 'Redis is unreachable';
}
