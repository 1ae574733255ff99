import type { ChildProcess } from 'node:child_process';
import { freePort, startRedis } from '../support/redis-server';
import { ServiceProcess } from '../support/service-process';
import { uniquePrefix, waitFor, writeRulesFile } from '../support/test-app';

const PASSWORD = 'Right-Pa55-word';

/** A Redis of this test's own, set up as a cache's Redis often is: a password, and keys evicted when it is full. */
function startMisconfiguredRedis(port: number): Promise<ChildProcess> {
  return startRedis(port, ['--requirepass', PASSWORD, '--maxmemory-policy', 'allkeys-lru']);
}

describe('The built service against a Redis set up wrongly', () => {
  jest.setTimeout(30_000);
  let redis: ChildProcess;
  let redisPort: number;
  const service = new ServiceProcess();

  beforeAll(async () => {
    redisPort = await freePort();
    redis = await startMisconfiguredRedis(redisPort);
  });
  afterEach(() => service.kill());
  afterAll(() => void redis.kill('SIGKILL'));

  async function start(password: string): Promise<string> {
    const port = await freePort();
    service.start({
      PORT: String(port), HOST: '127.0.0.1', ROLE: 'api', LOG_LEVEL: 'info', QUEUE_PREFIX: uniquePrefix(),
      REDIS_URL: `redis://:${password}@127.0.0.1:${redisPort}`,
      RULES_FILE: writeRulesFile('rules: []\n'),
    });
    return `http://127.0.0.1:${port}`;
  }

  it('should say in readiness why Redis refuses it (a wrong password), not only that there is no connection, and never the password', async () => {
    const base = await start('Wrong-Pa55-word');

    const ready = await waitFor(async () => {
      const answer = await fetch(`${base}/health/ready`).catch(() => undefined);
      return answer ? { status: answer.status, body: (await answer.json()) as { error?: { redis?: unknown } } } : undefined;
    }, 15_000, 'readiness');

    expect(ready.status).toBe(503);
    expect(ready.body.error?.redis).toEqual({ status: 'down', message: expect.stringMatching(/^WRONGPASS /) });
    expect(JSON.stringify(ready.body) + service.output).not.toContain('Pa55');
  });

  it('should warn in its log at start that Redis may evict keys', async () => {
    const base = await start(PASSWORD);

    await waitFor(async () => ((await fetch(`${base}/health/ready`).catch(() => undefined))?.status === 200 ? true : undefined), 15_000, 'ready');
    await waitFor(async () => (/maxmemory-policy is allkeys-lru: when it fills up it evicts keys/.test(service.output) ? true : undefined), 3_000, 'the warning');
    expect(service.output).not.toContain(PASSWORD);
  });
});
