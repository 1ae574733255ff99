import { storage } from 'nestjs-pino/storage';
import { readSample } from '../support/port-samples';
import { ServiceProcess } from '../support/service-process';
import { closedPort } from '../support/mock-target';
import { NO_RULES, REDIS_URL, removeKeys, startTestApp, TestApp, uniquePrefix, waitFor, writeRulesFile } from '../support/test-app';

const ADMIN_TOKEN = 'request-log-admin-token-0123456789';

describe('request logging', () => {
  jest.setTimeout(60_000);

  describe('in process', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ ADMIN_TOKEN });
    });
    afterAll(() => t.close());

    // nestjs-pino's middleware ran every request in its AsyncLocalStorage; on Node 20 the first run turns
    // on async hooks for good, and every promise of every later webhook paid an init hook for it.
    it('should leave async context tracking off after admin, docs and unknown requests', async () => {
      const answers = await Promise.all([
        t.app.inject({ method: 'GET', url: '/no-such-route' }),
        t.app.inject({ method: 'GET', url: '/events', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }),
        t.app.inject({ method: 'GET', url: '/docs/json' }),
      ]);
      expect(answers.map((answer) => answer.statusCode)).toEqual([404, 200, 200]);
      expect((storage as unknown as { enabled?: boolean }).enabled).not.toBe(true);
    });
  });

  describe('built service', () => {
    const service = new ServiceProcess();
    const prefix = uniquePrefix();
    let base: string;

    beforeAll(async () => {
      const port = await closedPort();
      base = `http://127.0.0.1:${port}`;
      service.start({ REDIS_URL, QUEUE_PREFIX: prefix, PORT: String(port), HOST: '127.0.0.1', ROLE: 'api', LOG_LEVEL: 'info', ADMIN_TOKEN, RULES_FILE: writeRulesFile(NO_RULES) });
      await waitFor(async () => (await fetch(`${base}/health/ready`).catch(() => undefined))?.status === 200, 20_000, 'the service to be ready');
    });
    afterAll(async () => {
      await service.terminate(10_000);
      await removeKeys(prefix);
    });

    const httpLines = () =>
      service.output
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { context?: string; msg: string; req?: { id: string; method: string; url: string }; res?: { statusCode: number }; responseTime?: number })
        .filter((line) => line.context === 'HTTP');

    it('should write one line per admin or unknown request, with the caller x-request-id, status and time', async () => {
      await fetch(`${base}/no-such-route?x=1`, { headers: { 'x-request-id': 'req-from-caller' } });
      await fetch(`${base}/events`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      await waitFor(async () => httpLines().length >= 2, 5_000, 'two request lines');

      const [unknown, events] = httpLines();
      expect(unknown).toMatchObject({ msg: 'request completed', req: { id: 'req-from-caller', method: 'GET', url: '/no-such-route?x=1' }, res: { statusCode: 404 } });
      expect(typeof unknown.responseTime).toBe('number');
      expect(events).toMatchObject({ msg: 'request completed', req: { method: 'GET', url: '/events' }, res: { statusCode: 200 } });
      expect(events.req!.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(JSON.stringify(events)).not.toContain(ADMIN_TOKEN);
    });

    it('should not log an admin token put in the URL, although the request is logged', async () => {
      const before = httpLines().length;
      const refused = await fetch(`${base}/events?limit=5&token=${ADMIN_TOKEN}`);
      expect(refused.status).toBe(401);
      await waitFor(async () => httpLines().length >= before + 2, 5_000, 'two lines');

      // The refusal's own line and the request line both name the URL.
      const lines = httpLines().slice(before);
      expect(lines.map((line) => line.req?.url ?? line.msg)).toEqual([
        'GET /events?limit=5&token=%5Bredacted%5D -> 401: admin routes need Authorization: Bearer $ADMIN_TOKEN (or, in a browser, Basic with the token as the password)',
        '/events?limit=5&token=%5Bredacted%5D',
      ]);
      expect(service.output).not.toContain(ADMIN_TOKEN);
    });

    it('should not log the webhook, probes or scrapes per request', async () => {
      const before = httpLines().length;
      const webhook = await fetch(`${base}/webhooks/port`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(readSample('kafka-changelog-entity-update-vm-free_storage.json')) });
      expect(webhook.status).toBe(202);
      await fetch(`${base}/health/live`);
      await fetch(`${base}/metrics`);
      await fetch(`${base}/no-such-route-either`);
      await waitFor(async () => httpLines().length > before, 5_000, 'a request line');

      expect(httpLines().slice(before).map((line) => line.req!.url)).toEqual(['/no-such-route-either']);
    });
  });
});
