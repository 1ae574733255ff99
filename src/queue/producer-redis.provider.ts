import { Logger, Provider } from '@nestjs/common';
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { redisInfoField } from '../common/redis-info';
import { AppConfig } from '../config/app-config';
import { DEFAULT_JOB_OPTIONS } from './job-options';
import { QueueName } from './queue-names';
import { producerRedisOptions } from './redis-options';

export const PRODUCER_REDIS = Symbol('PRODUCER_REDIS');
const FIRST_CONNECT_WAIT_MS = 5_000;

/**
 * One fail-fast connection for the HTTP side: enqueue, dedupe, records and readiness. Start-up
 * waits briefly for it so the first webhooks are not refused; Redis down at start is not fatal
 * (readiness says so, webhooks answer 503 until it is back).
 */
export const producerRedisProvider: Provider = {
  provide: PRODUCER_REDIS,
  inject: [AppConfig],
  useFactory: async (config: AppConfig) => {
    const redis = logErrorsOnce(new Redis(producerRedisOptions(config.redis.url)), 'producer connection');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, FIRST_CONNECT_WAIT_MS);
      redis.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    redis.on('ready', () => void warnOnEviction(redis));
    if (redis.status === 'ready') void warnOnEviction(redis);
    return redis;
  },
};

/**
 * An evicting Redis (allkeys-lru, …) drops queued jobs, dedupe keys and records when it fills up;
 * BullMQ says so on stderr only, in plain text. Said here in the service's log, once per connect.
 * Where INFO is not allowed, nothing is said.
 */
async function warnOnEviction(redis: Redis): Promise<void> {
  const info = await redis.info('memory').catch(() => '');
  const policy = redisInfoField(info, 'maxmemory_policy');
  if (policy && policy !== 'noeviction') {
    new Logger('Redis').warn(`Redis' maxmemory-policy is ${policy}: when it fills up it evicts keys, queued jobs and event records among them; set it to noeviction (BullMQ requires it)`);
  }
}

const lastErrors = new WeakMap<Redis, string>();

/** The connection's last error since it was last ready (WRONGPASS, ECONNREFUSED, …), for readiness. */
export function lastConnectionError(redis: Redis): string | undefined {
  return lastErrors.get(redis);
}

/** Without a listener ioredis would print every reconnect failure: each distinct error is logged once, until the next ready. */
export function logErrorsOnce(redis: Redis, name: string): Redis {
  const logger = new Logger('Redis');
  let lastError = '';
  redis.on('error', (error: Error) => {
    if (error.message !== lastError) logger.warn(`${name}: ${error.message}`);
    lastError = error.message;
    lastErrors.set(redis, error.message);
  });
  redis.on('ready', () => {
    lastError = '';
    lastErrors.delete(redis);
  });
  return redis;
}

/**
 * A queue that adds jobs over the producer connection (fail fast, shared with the records), so
 * what one request or evaluation writes leaves on one connection. Its owner closes it.
 */
export function producerQueue<T>(name: QueueName, redis: Redis, config: AppConfig, logger: Logger): Queue<T> {
  const queue = new Queue<T>(name, { connection: redis, prefix: config.queuePrefix, defaultJobOptions: DEFAULT_JOB_OPTIONS });
  queue.on('error', (error) => logger.warn(`${name} queue: ${error.message}`));
  return queue;
}
