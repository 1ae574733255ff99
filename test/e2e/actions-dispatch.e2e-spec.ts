import { deploymentUpdate } from '../factories/deployment-update';
import { hang, MockTarget, status } from '../support/mock-target';
import { startTestApp, TestApp, waitFor, writeRulesFile } from '../support/test-app';
import type Redis from 'ioredis';
import { ChangeEvent } from '../../src/changes/change-event';
import { EventRecord } from '../../src/events/event-record';
import { EventRecordStore } from '../../src/events/event-record.store';
import { QueueName } from '../../src/queue/queue-names';
import { PRODUCER_REDIS } from '../../src/queue/producer-redis.provider';

const ADMIN = 'admin-token-for-tests-0123456789';
const SCALER_TOKEN = 'scaler-secret-9f8e7d6c';

function rules(slack: MockTarget, scaler: MockTarget, port: MockTarget) {
  return writeRulesFile(`
rules:
  - id: deployment-degraded
    blueprint: deploymentConfig
    events: [UPDATE]
    when:
      - changed: properties.healthStatus
        from: Healthy
        to: [Degraded, Crashed]
    do:
      - slack:
          text: ":warning: {{ .entity.title }} is {{ .diff.after.properties.healthStatus }}"
  - id: cpu-high
    blueprint: deploymentConfig
    when:
      - crosses: properties.cpuUtil
        above: 80
    do:
      - slack: {}
      - http:
          url: "${scaler.url('/services')}/{{ .context.entity }}/scale"
          headers: { Authorization: "Bearer \${SCALER_TOKEN}" }
          body: { replicas: 3, reason: "{{ .rule.id }}" }
          timeoutMs: 300
  - id: lock-crashed
    blueprint: deploymentConfig
    when:
      - changed: properties.healthStatus
        to: Crashed
    do:
      - port:
          properties: { locked: true }
  - id: blocked-egress
    blueprint: deploymentConfig
    when:
      - changed: properties.memoryUtil
    do:
      - http:
          url: "http://169.254.169.254/latest/meta-data"
`);
}

describe('actions end to end (webhook -> queue -> mock Slack / scaler / Port)', () => {
  const slack = new MockTarget();
  const scaler = new MockTarget();
  const port = new MockTarget();
  let t: TestApp;

  beforeAll(async () => {
    await Promise.all([slack.start(), scaler.start(), port.start()]);
    port.otherwise((req, res) => {
      if (req.path === '/v1/auth/access_token') return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ accessToken: 'port-access-token', expiresIn: 3600, tokenType: 'Bearer' }));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true }));
    });
    t = await startTestApp({
      RULES_FILE: rules(slack, scaler, port),
      SLACK_WEBHOOK_URL: slack.url('/services/T000/B000/slacksecret'),
      SCALER_TOKEN,
      HTTP_ACTION_ALLOWED_HOSTS: `127.0.0.1:${scaler.port}`,
      PORT_API_URL: port.url('/v1'),
      PORT_CLIENT_ID: 'reactor-client',
      PORT_CLIENT_SECRET: 'port-secret-abc',
      WEBHOOK_SIGNATURE: 'off',
      ADMIN_TOKEN: ADMIN,
      ACTION_ATTEMPTS: '3',
      ACTION_RETRY_BASE_MS: '100',
      SLACK_MAX_PER_SECOND: '50',
    });
  });
  afterAll(async () => {
    await t.close();
    await Promise.all([slack.stop(), scaler.stop(), port.stop()]);
  });
  beforeEach(() => {
    for (const target of [slack, scaler, port]) target.requests.length = 0;
  });

  const send = async (body: unknown) => {
    const response = await t.app.inject({ method: 'POST', url: '/webhooks/port', payload: body as object });
    expect(response.statusCode).toBe(202);
    return response.json().eventId as string;
  };
  const record = async (eventId: string) => {
    const response = await t.app.inject({ method: 'GET', url: `/events/${eventId}`, headers: { authorization: `Bearer ${ADMIN}` } });
    return response.statusCode === 200 ? (response.json() as EventRecord) : undefined;
  };
  const settled = (eventId: string) =>
    waitFor(async () => {
      const r = await record(eventId);
      return r && (r.status === 'succeeded' || r.status === 'failed' || r.status === 'no-match') ? r : undefined;
    }, 15_000, `event ${eventId} to settle`);

  it('should send the rendered Slack text when health goes Healthy -> Degraded, and record it', async () => {
    const eventId = await send(deploymentUpdate({ healthStatus: 'Degraded' }));
    const done = await settled(eventId);

    expect(slack.requests).toHaveLength(1);
    expect(slack.requests[0].path).toBe('/services/T000/B000/slacksecret');
    expect(slack.requests[0].body).toEqual({ text: ':warning: Notification Service Production is Degraded' });
    expect(done).toMatchObject({
      status: 'succeeded', source: 'webhook', blueprint: 'deploymentConfig', entity: 'notification-service-prod',
      matchedRules: ['deployment-degraded'],
      changes: [{ path: 'properties.healthStatus', before: 'Healthy', after: 'Degraded' }],
      actions: [expect.objectContaining({ ruleId: 'deployment-degraded', type: 'slack', status: 'succeeded', attempts: 1 })],
    });
  });

  it('should call the scaler with the resolved secret and an Idempotency-Key, retrying a 500, without re-sending the Slack message', async () => {
    scaler.script(status(500));
    const eventId = await send(deploymentUpdate({ cpuUtil: 85 }));
    const done = await settled(eventId);

    expect(scaler.requests).toHaveLength(2);
    const call = scaler.requests[1];
    expect(call.path).toBe('/services/notification-service-prod/scale');
    expect(call.headers.authorization).toBe(`Bearer ${SCALER_TOKEN}`);
    expect(call.headers['idempotency-key']).toBe(`${eventId}.cpu-high.1`);
    expect(scaler.requests[0].headers['idempotency-key']).toBe(call.headers['idempotency-key']);
    expect(call.body).toEqual({ replicas: 3, reason: 'cpu-high' });
    expect(slack.requests).toHaveLength(1);
    expect(JSON.stringify(slack.requests[0].body)).toContain('cpuUtil');
    const httpAction = done.actions.find((a) => a.type === 'http')!;
    expect(httpAction).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(JSON.stringify(done)).not.toContain(SCALER_TOKEN);
    expect(JSON.stringify(done)).not.toContain('slacksecret');
  });

  it.each([
    ['429 with Retry-After', [status(429, '', { 'retry-after': '1' })], 2, 'succeeded', 900],
    ['a timeout', [hang], 2, 'succeeded', 0],
    ['a permanent 400', [status(400, 'bad request')], 1, 'failed', 0],
    ['three 503s (attempts exhausted)', [status(503), status(503), status(503)], 3, 'failed', 0],
  ])('should handle %s from the scaler', async (_name, answers, calls, finalStatus, minGapMs) => {
    scaler.script(...answers);
    const eventId = await send(deploymentUpdate({ cpuUtil: 90 }, new Date(Date.now() + Math.random() * 1e6).toISOString()));
    const done = await settled(eventId);

    expect(scaler.requests).toHaveLength(calls);
    if (minGapMs) expect(scaler.requests[1].at - scaler.requests[0].at).toBeGreaterThanOrEqual(minGapMs);
    const httpAction = done.actions.find((a) => a.type === 'http')!;
    expect(httpAction).toMatchObject({ status: finalStatus, attempts: calls });
    if (finalStatus === 'failed') expect(httpAction.lastError?.statusCode).toEqual(expect.any(Number));
  });

  it('should retry when the scaler refuses connections', async () => {
    await scaler.stop();
    try {
      const eventId = await send(deploymentUpdate({ cpuUtil: 95 }));
      const done = await settled(eventId);
      expect(done.actions.find((a) => a.type === 'http')).toMatchObject({ status: 'failed', attempts: 3, lastError: { message: expect.stringContaining('ECONNREFUSED') } });
    } finally {
      await scaler.start();
    }
  });

  it('should refuse a link-local (metadata) address that is not allowed, without retrying', async () => {
    const eventId = await send(deploymentUpdate({ memoryUtil: 99 }));
    const done = await settled(eventId);

    expect(done.actions).toEqual([expect.objectContaining({ type: 'http', status: 'failed', attempts: 1 })]);
  });

  it('should patch the entity in Port with a cached token, and not react to its own write', async () => {
    const first = await settled(await send(deploymentUpdate({ healthStatus: 'Crashed' })));
    await settled(await send(deploymentUpdate({ healthStatus: 'Crashed', cpuUtil: 26 }, new Date(Date.now() + 5000).toISOString())));

    expect(first.actions.find((a) => a.type === 'port')).toMatchObject({ status: 'succeeded' });
    expect(port.to('/v1/auth/access_token')).toHaveLength(1);
    const patches = port.to('/v1/blueprints/deploymentConfig/entities/notification-service-prod');
    expect(patches.length).toBeGreaterThanOrEqual(1);
    expect(patches[0]).toMatchObject({ method: 'PATCH', body: { properties: { locked: true } } });
    expect(patches[0].headers.authorization).toBe('Bearer port-access-token');

    port.requests.length = 0;
    const ownWrite = deploymentUpdate({ healthStatus: 'Crashed', locked: true }, new Date(Date.now() + 9000).toISOString());
    ownWrite.trigger.by.userId = 'reactor-client@clients';
    const echoed = await settled(await send(ownWrite));
    expect(echoed.matchedRules).not.toContain('lock-crashed');
    expect(port.requests).toHaveLength(0);
  });

  it('should replay a stored event against the current rules', async () => {
    const eventId = await send(deploymentUpdate({ healthStatus: 'Degraded' }, new Date(Date.now() + 12_000).toISOString()));
    await settled(eventId);
    const replay = await t.app.inject({ method: 'POST', url: `/events/${eventId}/replay`, headers: { authorization: `Bearer ${ADMIN}` } });

    expect(replay.statusCode).toBe(202);
    expect(replay.json()).toEqual({ eventId, replay: 1, matchedRules: ['deployment-degraded'], actions: 1 });
    const replayed = await waitFor(async () => {
      const r = await record(eventId);
      return r && r.actions.length === 2 && r.actions.every((a) => a.status === 'succeeded') ? r : undefined;
    }, 10_000, 'replayed action');
    expect(replayed.replays).toBe(1);
    expect(slack.requests).toHaveLength(2);
  });

  it('should list events by entity and rule', async () => {
    const eventId = await send(deploymentUpdate({ healthStatus: 'Degraded' }, new Date(Date.now() + 20_000).toISOString()));
    await settled(eventId);
    const response = await t.app.inject({ method: 'GET', url: '/events?entity=notification-service-prod&rule=deployment-degraded&limit=1', headers: { authorization: `Bearer ${ADMIN}` } });

    expect(response.statusCode).toBe(200);
    expect(response.json().items).toEqual([expect.objectContaining({ eventId })]);
  });

  it('should read records on a connection of their own, not the one the webhooks write on', async () => {
    // One connection answers in order: a large listing's replies would hold up every webhook's writes behind them.
    const eventId = await send(deploymentUpdate({ healthStatus: 'Degraded' }, new Date(Date.now() + 30_000).toISOString()));
    await settled(eventId);
    const webhookConnection = t.app.get<Redis>(PRODUCER_REDIS);
    const reads = ['hgetall', 'hget', 'zrevrangebyscore'].map((command) => jest.spyOn(webhookConnection, command as 'hgetall'));
    try {
      const list = await t.app.inject({ method: 'GET', url: '/events?limit=5', headers: { authorization: `Bearer ${ADMIN}` } });
      const one = await t.app.inject({ method: 'GET', url: `/events/${eventId}`, headers: { authorization: `Bearer ${ADMIN}` } });

      expect(list.statusCode).toBe(200);
      expect(list.json().items.map((item: EventRecord) => item.eventId)).toContain(eventId);
      expect(one.json()).toMatchObject({ eventId });
      for (const read of reads) expect(read).not.toHaveBeenCalled();
    } finally {
      for (const read of reads) read.mockRestore();
    }
  });

  it.each([
    ['/events?limit=1&limit=2', ['limit must be a whole number from 1 to 200, given once']],
    ['/events?before=1&before=2', ['before must be a page cursor (`nextBefore` of a page) or a time in ms since epoch, given once']],
  ])('should refuse %s with one message', async (url, messages) => {
    const response = await t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${ADMIN}` } });
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toEqual(messages);
  });

  it('should page through events received in the same millisecond, each exactly once', async () => {
    // Seven events in one ms (a burst does that) and two around it; pages of 1, 2 and 3.
    const store = t.app.get(EventRecordStore);
    const at = Date.UTC(2031, 0, 1);
    const entity = `same-ms-${Date.now()}`;
    const ids: string[] = [];
    for (const [index, offsetMs] of [0, 1, 1, 1, 1, 1, 1, 1, 2].entries()) {
      const id = `evt_samems${String(index).padStart(2, '0')}${entity}`;
      ids.push(id);
      const event = { id, source: 'webhook', receivedAt: new Date(at + offsetMs).toISOString(), action: 'UPDATE', resourceType: 'entity', blueprint: 'vm', entity, body: { action: 'UPDATE', resourceType: 'entity', context: {} } };
      await store.recordEvaluation(event as ChangeEvent, { evaluatedAt: event.receivedAt, changes: [], matchedRules: [], ruleFailures: [] }, [], { firstDelivery: false });
    }
    for (const limit of [1, 2, 3]) {
      const seen: string[] = [];
      let before: string | undefined;
      do {
        const url = `/events?entity=${entity}&limit=${limit}${before ? `&before=${encodeURIComponent(before)}` : ''}`;
        const page = (await t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${ADMIN}` } })).json();
        seen.push(...page.items.map((item: EventRecord) => item.eventId));
        before = page.nextBefore;
      } while (before && seen.length < 20);
      // Newest first; in one ms, event ids descending (Redis' order for equal scores).
      expect(seen).toEqual([...ids].reverse());
    }
    // A time alone still lists what came before it.
    const older = (await t.app.inject({ method: 'GET', url: `/events?entity=${entity}&before=${at + 1}`, headers: { authorization: `Bearer ${ADMIN}` } })).json();
    expect(older.items.map((item: EventRecord) => item.eventId)).toEqual([ids[0]]);
  });

  it.each([
    ['a JSON body that does not parse', 'application/json', '{bad'],
    ['a body of a type no route takes', 'text/plain', 'x'],
    ['a body over the size limit', 'application/json', `{"a":"${'x'.repeat(2 * 1024 * 1024)}"}`],
  ])('should answer 401, not about the body, to a replay without the token and with %s', async (_name, contentType, payload) => {
    const response = await t.app.inject({ method: 'POST', url: '/events/evt_x/replay', headers: { 'content-type': contentType }, payload });
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toEqual(expect.arrayContaining([expect.stringMatching(/^Bearer realm=/), expect.stringMatching(/^Basic realm=/)]));
  });

  it('should let a browser into Bull Board with HTTP Basic, the token as the password', async () => {
    const basic = (credentials: string) => `Basic ${Buffer.from(credentials).toString('base64')}`;
    const ask = (authorization: string | undefined, url = '/admin/queues') => t.app.inject({ method: 'GET', url, headers: authorization ? { authorization } : {} });

    const refused = await ask(undefined);
    expect(refused.statusCode).toBe(401);
    expect(String(refused.headers['www-authenticate'])).toContain('Basic realm="changelog-reactor admin"');
    expect((await ask(basic(`admin:${ADMIN}`))).statusCode).toBe(200);
    expect((await ask(basic(`anyone:${ADMIN}`), '/admin/queues/api/queues')).statusCode).toBe(200);
    expect((await ask(basic(`${ADMIN}:wrong-password`))).statusCode).toBe(401);
    expect((await ask(basic(ADMIN))).statusCode).toBe(401);
    expect((await ask(basic(`admin:${ADMIN}`), '/events?limit=1')).statusCode).toBe(200);
  });

  it("should refuse Bull Board's routes that write a job's data, which could send the service's secrets anywhere, and keep retry", async () => {
    const admin = { authorization: `Bearer ${ADMIN}` };
    const leak = { type: 'http', method: 'POST', url: scaler.url('/leak'), headers: { 'X-Leak': '${PORT_CLIENT_SECRET}' }, body: { token: '${SCALER_TOKEN}' }, timeoutMs: 1000 };
    const data = { eventId: 'evt_forged', ruleId: 'forged', actionIndex: 0, replay: 0, action: leak, receivedAt: new Date().toISOString() };
    const eventId = await send(deploymentUpdate({ healthStatus: 'Degraded' }));
    await settled(eventId);
    const [job] = await t.queue(QueueName.Actions).getJobs(['completed'], 0, 0);

    const attempts = await Promise.all([
      t.app.inject({ method: 'POST', url: '/admin/queues/api/queues/actions/add', headers: admin, payload: { name: 'DispatchAction', data, options: {} } }),
      t.app.inject({ method: 'POST', url: '/admin//queues/api/queues/actions/add', headers: admin, payload: { name: 'DispatchAction', data, options: {} } }),
      t.app.inject({ method: 'PATCH', url: `/admin/queues/api/queues/actions/${encodeURIComponent(job.id!)}/update-data`, headers: admin, payload: { jobData: data } }),
      t.app.inject({ method: 'PATCH', url: '/admin/queues/api/queues/actions/job-schedulers/forged', headers: admin, payload: { template: { data } } }),
    ]);
    expect(attempts.map((response) => response.statusCode)).toEqual([403, 404, 403, 403]);
    expect(attempts[0].json().message).toContain("does not add jobs or change a job's data");
    // Without the token it is a 401 as before, not a hint that the route exists.
    expect((await t.app.inject({ method: 'POST', url: '/admin/queues/api/queues/actions/add', payload: { name: 'x', data } })).statusCode).toBe(401);
    // Retrying is still allowed (it runs again the actions earlier tests left failed).
    expect((await t.app.inject({ method: 'PUT', url: '/admin/queues/api/queues/actions/retry/failed', headers: admin })).statusCode).toBe(200);

    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(scaler.requests.filter((request) => request.path === '/leak')).toEqual([]);
    expect((await t.queue(QueueName.Actions).getJob(job.id!))?.data).toEqual(job.data);
    expect(await t.queue(QueueName.Actions).getJobSchedulers()).toEqual([]);
  });

  it.each([
    ['GET', '/events/evt_x', undefined, 401],
    ['GET', '/events', 'Bearer wrong-token-wrong-token', 401],
    ['POST', '/events/evt_x/replay', undefined, 401],
    ['GET', '/admin/queues', undefined, 401],
    ['GET', '/admin/queues', `Bearer ${ADMIN}`, 200],
    ['GET', '/events/evt_unknown', `Bearer ${ADMIN}`, 404],
    ['GET', `/events/evt_${'x'.repeat(300)}`, `Bearer ${ADMIN}`, 404],
    ['POST', `/events/evt_${'x'.repeat(300)}/replay`, `Bearer ${ADMIN}`, 404],
    ['GET', '/events?before=', `Bearer ${ADMIN}`, 400],
    ['GET', '/events?before=abc', `Bearer ${ADMIN}`, 400],
    ['GET', '/events?before=1796047711032', `Bearer ${ADMIN}`, 200],
    ['GET', '/events?before=1796047711032:evt_x', `Bearer ${ADMIN}`, 200],
    ['GET', '/events?before=evt_x:1', `Bearer ${ADMIN}`, 400],
    ['GET', '/events?before=1&before=2', `Bearer ${ADMIN}`, 400],
    ['GET', '/events?limit=0x2', `Bearer ${ADMIN}`, 400],
    ['GET', '/events?limit=201', `Bearer ${ADMIN}`, 400],
    ['GET', '/events?limit=200', `Bearer ${ADMIN}`, 200],
  ])('should answer %s %s with auth %s -> %i', async (method, url, authorization, expected) => {
    const response = await t.app.inject({ method: method as 'GET' | 'POST', url, headers: authorization ? { authorization } : {} });
    expect(response.statusCode).toBe(expected);
  });
});

describe('admin routes without ADMIN_TOKEN', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ ROLE: 'api' });
  });
  afterAll(() => t.close());

  it.each(['/events/evt_x', '/events', '/admin/queues'])('should answer 404 for %s', async (url) => {
    expect((await t.app.inject({ method: 'GET', url, headers: { authorization: 'Bearer anything-at-all-123' } })).statusCode).toBe(404);
  });
});
