import Redis from 'ioredis';

/** Integration and e2e tests need the real Redis; fail early with a clear message when it is not there. */
export default async function globalSetup(): Promise<void> {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2_000 });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new Error(`tests need Redis at ${url} (start it with: redis-server --daemonize yes): ${(error as Error).message}`);
  } finally {
    redis.disconnect();
  }
}
