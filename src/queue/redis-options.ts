import type { RedisOptions } from 'ioredis';

/** ioredis options from REDIS_URL (redis:// or rediss:// for TLS, with optional user, password and db). */
export function redisOptionsFromUrl(url: string): RedisOptions {
  const parsed = new URL(url);
  const db = parsed.pathname.replace('/', '');
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port: parsed.port ? Number(parsed.port) : 6379,
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    db: db ? Number(db) : undefined,
    tls: parsed.protocol === 'rediss:' ? { servername: parsed.hostname } : undefined,
  };
}

/**
 * The enqueue side fails fast when Redis is down, so the webhook answers 503 and Port retries,
 * instead of holding the request while ioredis queues commands offline.
 */
export function producerRedisOptions(url: string): RedisOptions {
  return {
    ...redisOptionsFromUrl(url),
    enableOfflineQueue: false,
    // Off: BullMQ defines ~50 scripts on this connection, and ioredis copies every one of them into
    // each auto-pipeline it builds; measured, that cost more CPU per request than the writes it saved.
    enableAutoPipelining: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 2_000,
    connectTimeout: 2_000,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  };
}

/** Workers wait for Redis to come back (BullMQ requires maxRetriesPerRequest: null for blocking calls). */
export function workerRedisOptions(url: string): RedisOptions {
  return { ...redisOptionsFromUrl(url), maxRetriesPerRequest: null, enableOfflineQueue: true };
}

/**
 * The admin API's reads (`GET /events`, a record, a replay's stored event): a connection of their own,
 * made on first use, so that a large listing (up to 200 records of up to 1 MiB) never holds up the
 * webhooks' writes queued behind its replies on one connection. Commands wait for the first connect,
 * may take 10 s, and still fail fast once Redis is down (one retry).
 */
export function adminReadRedisOptions(url: string): RedisOptions {
  return { ...producerRedisOptions(url), enableOfflineQueue: true, commandTimeout: 10_000 };
}
