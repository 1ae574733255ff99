import type { ChildProcess } from 'node:child_process';
import { readSample } from '../support/port-samples';
import { freePort, startRedis } from '../support/redis-server';
import { startTestApp, TestApp, waitFor } from '../support/test-app';

const ADMIN = 'admin-token-for-outage-tests-0123';
const body = readSample('kafka-changelog-entity-update-vm-free_storage.json') as Record<string, unknown>;

describe('POST /webhooks/port while Redis is down', () => {
  let redis: ChildProcess;
  let port: number;
  let t: TestApp;

  beforeAll(async () => {
    port = await freePort();
    redis = await startRedis(port);
    t = await startTestApp({ ROLE: 'api', REDIS_URL: `redis://127.0.0.1:${port}`, ADMIN_TOKEN: ADMIN });
  });
  afterAll(async () => {
    redis.kill('SIGKILL');
    redis = await startRedis(port);
    await t.close();
    redis.kill('SIGKILL');
  });

  const post = (entity: string) =>
    t.app.inject({ method: 'POST', url: '/webhooks/port', payload: { ...body, context: { blueprint: 'vm', entity } } });

  it('should answer 503 quickly while Redis is unreachable, and 202 again once it is back', async () => {
    const first = await post('before-outage');
    expect(first.statusCode).toBe(202);
    const before = first.json().eventId as string;

    redis.kill('SIGKILL');
    await waitFor(async () => (await post('during-outage')).statusCode === 503, 5_000, '503 during the outage');
    const started = Date.now();
    const during = await post('during-outage-2');
    expect(during.statusCode).toBe(503);
    expect(Date.now() - started).toBeLessThan(2_500);
    expect((await t.app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(503);
    // The admin routes read and write Redis directly: 503 too, not an internal error.
    for (const [method, url] of [['GET', '/events'], ['GET', `/events/${before}`], ['POST', `/events/${before}/replay`]] as const) {
      const admin = await t.app.inject({ method, url, headers: { authorization: `Bearer ${ADMIN}` } });
      expect({ url, status: admin.statusCode }).toEqual({ url, status: 503 });
    }
    // The queue gauges read Redis: a JSON 503, although the route's own answers are text/plain.
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.statusCode).toBe(503);
    expect(metrics.json()).toMatchObject({ statusCode: 503, message: expect.stringContaining('Redis does not answer') });

    redis = await startRedis(port);
    await waitFor(async () => (await post('after-outage')).statusCode === 202, 10_000, 'recovery');
    expect((await t.recorded()).map((event) => event.entity)).toEqual(['after-outage']);
  }, 20_000);
});
