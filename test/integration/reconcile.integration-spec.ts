import Redis from 'ioredis';
import type { AppConfig } from '../../src/config/app-config';
import { PortApiClient } from '../../src/actions/port/port-api.client';
import type { ChangeEvent, EntitySnapshot } from '../../src/changes/change-event';
import { parsePortBody } from '../../src/changes/change-event.parser';
import { EventIntakeService } from '../../src/ingest/event-intake.service';
import { PRODUCER_REDIS } from '../../src/queue/producer-redis.provider';
import { RulesService } from '../../src/rules/rules.service';
import { ChangelogRegistrationService } from '../../src/sources/changelog-registration.service';
import { EntityStateStore } from '../../src/sources/entity-state.store';
import { ReconcileService } from '../../src/sources/reconcile.service';
import { fakePortCatalog, type FakePortCatalog } from '../support/fake-port-catalog';
import { MockTarget, status } from '../support/mock-target';
import { REDIS_URL, removeKeys, startTestApp, uniquePrefix, waitFor, writeRulesFile, type TestApp } from '../support/test-app';

const RULES = `rules:
  - id: service-changed
    blueprint: service
    do:
      - http:
          url: https://scaler.example.com/hook
  - id: any-blueprint
    do:
      - http:
          url: https://scaler.example.com/any
`;

const svc = (id: string, health = 'Healthy'): EntitySnapshot => ({
  identifier: id,
  title: `Service ${id}`,
  blueprint: 'service',
  team: ['platform'],
  properties: { health },
  relations: {},
  updatedAt: '2026-01-01T00:00:00.000Z',
});

/** What the intake would record for a webhook UPDATE. */
function webhookUpdate(before: EntitySnapshot, after: EntitySnapshot): ChangeEvent {
  const body = { action: 'UPDATE', resourceType: 'entity', status: 'SUCCESS', context: { blueprint: 'service', entity: after.identifier }, diff: { before, after } };
  const parsed = parsePortBody(body, { source: 'webhook', receivedAt: new Date().toISOString() });
  if (!parsed.ok) throw new Error('invalid test webhook');
  return parsed.event;
}

/** A changelog webhook body, as Port sends it at `at`. */
function webhookBody(before: EntitySnapshot, after: EntitySnapshot, at: string): object {
  return {
    action: 'UPDATE', resourceType: 'entity', status: 'SUCCESS',
    trigger: { by: { orgId: 'org_1', userId: 'someone@example.com' }, origin: 'UI', at },
    context: { blueprint: 'service', entity: after.identifier, runId: null },
    diff: { before, after },
  };
}

/** Port's changelog body for the deletion of `before` at `at`. */
function deleteBody(before: EntitySnapshot, at: string): object {
  return { ...webhookBody(before, before, at), action: 'DELETE', diff: { before, after: null } };
}

describe('Reconcile against a Port API on loopback (real Redis, real intake)', () => {
  let catalog: FakePortCatalog;
  let port: MockTarget;
  let t: TestApp;
  let client: PortApiClient;
  let store: EntityStateStore;
  let sut: ReconcileService;

  const searches = () => port.requests.filter((req) => req.path.endsWith('/entities/search'));
  const tokenRequests = () => port.requests.filter((req) => req.path === '/v1/auth/access_token');
  const queuedEvents = () => t.recorded();

  beforeEach(async () => {
    catalog = fakePortCatalog({ service: [svc('a'), svc('b'), svc('c')] });
    port = await new MockTarget().otherwise(catalog.responder).start();
    t = await startTestApp({
      ROLE: 'api',
      RULES_FILE: writeRulesFile(RULES),
      PORT_API_URL: port.url('/v1'),
      PORT_CLIENT_ID: 'cid',
      PORT_CLIENT_SECRET: 'csecret',
      WEBHOOK_SIGNATURE: 'off',
      // Catch-up on, so webhooks keep the state, but its own schedule never runs here: the tests run `sut`.
      RECONCILE_INTERVAL: '168h',
      RECONCILE_ON_START: 'false',
    });
    client = new PortApiClient({ baseUrl: t.config.port.apiUrl, clientId: 'cid', clientSecret: 'csecret' });
    store = new EntityStateStore(t.app.get<Redis>(PRODUCER_REDIS), t.config);
    sut = new ReconcileService(client, store, t.app.get(EventIntakeService), t.app.get(RulesService), { onStart: false });
  });

  afterEach(async () => {
    await sut.stop();
    await client.onApplicationShutdown();
    await t.close();
    await port.stop();
  });

  it('should record on the first run, queue exactly the missed changes on the next, and nothing when nothing changed', async () => {
    await expect(sut.trigger()).resolves.toMatchObject({ blueprints: ['service'], recorded: ['service'], queued: 0 });
    expect(await queuedEvents()).toEqual([]);
    expect([...(await store.snapshot('service')).keys()].sort()).toEqual(['a', 'b', 'c']);

    catalog.entities.service = [svc('a', 'Degraded'), svc('c'), svc('d')];
    await expect(sut.trigger()).resolves.toMatchObject({ recorded: [], created: 1, updated: 1, deleted: 1, queued: 3 });

    const events = await queuedEvents();
    const byAction = Object.fromEntries(events.map((event) => [event.action, event]));
    expect(events).toHaveLength(3);
    expect(events.every((event) => event.source === 'reconcile' && event.blueprint === 'service')).toBe(true);
    expect(byAction.UPDATE).toMatchObject({ entity: 'a', body: { diff: { before: svc('a'), after: svc('a', 'Degraded') } } });
    expect(byAction.DELETE).toMatchObject({ entity: 'b', body: { diff: { before: svc('b'), after: null } } });
    expect(byAction.CREATE).toMatchObject({ entity: 'd', body: { diff: { before: null, after: svc('d') } } });
    expect(byAction.CREATE.body.trigger).toEqual({ by: { orgId: 'reconcile' }, origin: 'RECONCILE', at: expect.any(String) });

    await expect(sut.trigger()).resolves.toMatchObject({ created: 0, updated: 0, deleted: 0, queued: 0 });
    expect(await queuedEvents()).toHaveLength(3);
  });

  it('should not report a change an event already brought', async () => {
    await sut.trigger();
    catalog.entities.service = [svc('a', 'Degraded'), svc('b'), svc('c')];
    await store.record(webhookUpdate(svc('a'), svc('a', 'Degraded')));

    await expect(sut.trigger()).resolves.toMatchObject({ updated: 0, queued: 0 });
  });

  it("should answer Port's own late event for a change catch-up reported as a duplicate, and run nothing twice", async () => {
    await sut.trigger();
    catalog.entities.service = [svc('a', 'Degraded'), svc('b'), svc('c')];
    await expect(sut.trigger()).resolves.toMatchObject({ updated: 1, queued: 1 });
    // As Port sends it: its own time, and without the metadata and the empty relations the listing has.
    const { updatedAt: _u, relations: _r, ...degraded } = svc('a', 'Degraded');
    const late = webhookBody(svc('a'), degraded, new Date().toISOString());

    const answer = await t.app.inject({ method: 'POST', url: '/webhooks/port', payload: late });

    expect([answer.statusCode, answer.json()]).toEqual([202, { eventId: expect.any(String), duplicate: true }]);
    expect(await queuedEvents()).toHaveLength(1);
    const next = await t.app.inject({ method: 'POST', url: '/webhooks/port', payload: webhookBody(degraded, svc('a'), new Date(Date.now() + 1).toISOString()) });
    expect(next.json()).toMatchObject({ duplicate: false });
    expect(await queuedEvents()).toHaveLength(2);
  });

  it("should answer Port's own late DELETE for a deletion catch-up reported as a duplicate, after its late UPDATE", async () => {
    const redis = t.app.get<Redis>(PRODUCER_REDIS);
    const post = (payload: object) => t.app.inject({ method: 'POST', url: '/webhooks/port', payload });
    await sut.trigger();
    catalog.entities.service = [svc('a'), svc('c')];
    await expect(sut.trigger()).resolves.toMatchObject({ deleted: 1, queued: 1 });
    const at = Date.now();

    // Port's events from while the service missed them: b degraded, then deleted.
    const update = await post(webhookBody(svc('b'), svc('b', 'Degraded'), new Date(at).toISOString()));
    const late = await post(deleteBody(svc('b', 'Degraded'), new Date(at + 1).toISOString()));

    expect(update.json()).toMatchObject({ duplicate: false });
    expect([late.statusCode, late.json()]).toEqual([202, { eventId: expect.any(String), duplicate: true }]);
    expect((await queuedEvents()).map((event) => event.action)).toEqual(['DELETE', 'UPDATE']);
    // Port's event has come: the trace is gone, and the next run reports nothing.
    expect(await redis.hexists(`${t.config.queuePrefix}:state:service`, 'b')).toBe(0);
    await expect(sut.trigger()).resolves.toMatchObject({ created: 0, updated: 0, deleted: 0, queued: 0 });
    // A later deletion of a new b is a change like any other.
    await post({ ...deleteBody(svc('b'), new Date(at + 2).toISOString()), action: 'CREATE', diff: { before: null, after: svc('b') } });
    expect((await post(deleteBody(svc('b'), new Date(at + 3).toISOString()))).json()).toMatchObject({ duplicate: false });
  });

  it('should keep the state of the blueprints the rules name only', async () => {
    const redis = t.app.get<Redis>(PRODUCER_REDIS);
    for (const blueprint of ['service', 'vm']) {
      const body = { ...webhookBody(svc('z'), svc('z', 'Degraded'), new Date().toISOString()), context: { blueprint, entity: 'z' } };
      expect((await t.app.inject({ method: 'POST', url: '/webhooks/port', payload: body })).statusCode).toBe(202);
    }

    expect(await redis.hkeys(`${t.config.queuePrefix}:state:service`)).toEqual(['z']);
    expect(await redis.exists(`${t.config.queuePrefix}:state:vm`)).toBe(0);
    expect(await queuedEvents()).toHaveLength(2);
  });

  it('should read every page, following next with limit 500', async () => {
    catalog.pageSize = 2;
    catalog.entities.service = ['a', 'b', 'c', 'd', 'e'].map((id) => svc(id));

    await expect(sut.trigger()).resolves.toMatchObject({ failed: [] });

    expect(searches()).toHaveLength(3);
    expect(searches().map((req) => req.body)).toEqual([
      { limit: 500 },
      { limit: 500, from: expect.any(String) },
      { limit: 500, from: expect.any(String) },
    ]);
    expect((await store.snapshot('service')).size).toBe(5);
  });

  it('should fetch one new token when a listing answers 401', async () => {
    await sut.trigger();
    catalog.revoked.add('tok-1');

    await expect(sut.trigger()).resolves.toMatchObject({ failed: [], blueprints: ['service'] });

    expect(tokenRequests()).toHaveLength(2);
    expect(searches().map((req) => req.headers.authorization)).toEqual(['Bearer tok-1', 'Bearer tok-1', 'Bearer tok-2']);
  });

  it('should wait out a 429 with Retry-After 1 and go on', async () => {
    await sut.trigger();
    catalog.entities.service = [svc('a'), svc('b')];
    catalog.faults.push(status(429, '{"ok":false,"error":"rate_limited"}', { 'retry-after': '1', 'content-type': 'application/json' }));

    const started = Date.now();
    await expect(sut.trigger()).resolves.toMatchObject({ deleted: 1, queued: 1, failed: [] });

    const [limited, retried] = searches().slice(1);
    expect(retried.at - limited.at).toBeGreaterThanOrEqual(950);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('should abort a slow run when the next one starts', async () => {
    catalog.searchDelaysMs.push(5_000);

    const started = Date.now();
    const first = sut.trigger();
    await waitFor(async () => searches().length === 1, 5_000, 'the first listing');
    const second = sut.trigger();

    await expect(first).resolves.toBeUndefined();
    await expect(second).resolves.toMatchObject({ recorded: ['service'] });
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(searches()).toHaveLength(2);
  });
});

describe('EntityStateStore on the real Redis', () => {
  let redis: Redis;
  let prefix: string;
  let sut: EntityStateStore;

  beforeEach(() => {
    redis = new Redis(REDIS_URL);
    prefix = uniquePrefix();
    sut = new EntityStateStore(redis, { queuePrefix: prefix } as AppConfig);
  });

  afterEach(async () => {
    await removeKeys(prefix);
    redis.disconnect();
  });

  it('should apply a compare-and-set only where the stored value is still the expected one', async () => {
    await sut.replace('service', [svc('a'), svc('b')]);
    const before = await sut.snapshot('service');
    await sut.record(webhookUpdate(svc('b'), svc('b', 'Crashed')));

    const applied = await sut.compareAndSet('service', [
      { entity: 'a', expected: before.get('a')!.raw, next: svc('a', 'Degraded') },
      { entity: 'b', expected: before.get('b')!.raw, next: null },
      { entity: 'c', expected: null, next: svc('c') },
    ]);

    expect(applied).toEqual([true, false, true]);
    const after = await sut.snapshot('service');
    expect([...after.keys()].sort()).toEqual(['a', 'b', 'c']);
    expect(after.get('b')!.raw).toContain('"Crashed"');
    await expect(sut.isRecorded('service')).resolves.toBe(true);
    await expect(sut.isRecorded('vm')).resolves.toBe(false);
  });

  it('should keep the trace of a reported deletion against an UPDATE, and let a CREATE or DELETE replace it', async () => {
    await sut.replace('service', [svc('a'), svc('b')]);
    const before = await sut.snapshot('service');
    await sut.compareAndSet('service', ['a', 'b'].map((id) => ({ entity: id, expected: before.get(id)!.raw, next: null, reported: true, reportedAt: 1_000 })));

    await sut.record(webhookUpdate(svc('a'), svc('a', 'Degraded')));
    await sut.record({ ...webhookUpdate(svc('b'), svc('b')), action: 'CREATE' });

    const after = await sut.snapshot('service');
    expect(after.get('a')).toEqual({ fingerprint: '-', raw: '-+ 1000', reportedByCatchUp: true, deletedAt: 1_000 });
    expect(after.get('b')).toMatchObject({ reportedByCatchUp: false, raw: expect.stringContaining('"Healthy"') });
    await sut.record({ ...webhookUpdate(svc('a'), svc('a')), action: 'DELETE' });
    expect((await sut.snapshot('service')).has('a')).toBe(false);
  });
});

describe('Changelog destination registration against a Port API on loopback', () => {
  let catalog: FakePortCatalog;
  let port: MockTarget;
  let client: PortApiClient;
  let sut: ChangelogRegistrationService;

  const patches = () => port.requests.filter((req) => req.method === 'PATCH');

  beforeEach(async () => {
    catalog = fakePortCatalog({ service: [], deploymentConfig: [] });
    catalog.blueprints.deploymentConfig.changelogDestination = { type: 'KAFKA' };
    port = await new MockTarget().otherwise(catalog.responder).start();
    client = new PortApiClient({ baseUrl: port.url('/v1'), clientId: 'cid', clientSecret: 'csecret' });
    sut = new ChangelogRegistrationService(client);
  });

  afterEach(async () => {
    await client.onApplicationShutdown();
    await port.stop();
  });

  it('should PATCH each blueprint with exactly the webhook destination, once', async () => {
    const first = await sut.register(['service', 'deploymentConfig'], 'https://reactor.example.com/');

    expect(first.changed.map((change) => change.blueprint)).toEqual(['service', 'deploymentConfig']);
    expect(patches().map((req) => [req.path, req.body])).toEqual([
      ['/v1/blueprints/service', { changelogDestination: { type: 'WEBHOOK', url: 'https://reactor.example.com/webhooks/port' } }],
      ['/v1/blueprints/deploymentConfig', { changelogDestination: { type: 'WEBHOOK', url: 'https://reactor.example.com/webhooks/port' } }],
    ]);

    const second = await sut.register(['service', 'deploymentConfig'], 'https://reactor.example.com');

    expect(second).toEqual({ changed: [], unchanged: ['service', 'deploymentConfig'], failed: [] });
    expect(patches()).toHaveLength(2);
  });
});
