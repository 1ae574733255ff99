import { Logger, Provider } from '@nestjs/common';
import { Queue } from 'bullmq';
import Redis from 'ioredis';
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
    return redis;
  },
};

/** Without a listener ioredis would print every reconnect failure: each distinct error is logged once, until the next ready. */
export function logErrorsOnce(redis: Redis, name: string): Redis {
  const logger = new Logger('Redis');
  let lastError = '';
  redis.on('error', (error: Error) => {
    if (error.message !== lastError) logger.warn(`${name}: ${error.message}`);
    lastError = error.message;
  });
  redis.on('ready', () => (lastError = ''));
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
