import { SourcesService } from '../../src/sources/sources.service';
import { fakePortCatalog } from '../support/fake-port-catalog';
import { MockTarget } from '../support/mock-target';
import { startTestApp, TestApp, waitFor, writeRulesFile } from '../support/test-app';

const svc = (identifier: string, status = 'Healthy') => ({ identifier, title: identifier, blueprint: 'service', properties: { status }, relations: {} });

describe('catch-up and registration wired from the environment (ROLE=api)', () => {
  const catalog = fakePortCatalog({ service: [svc('a'), svc('b')] });
  const port = new MockTarget().otherwise(catalog.responder);
  let t: TestApp;

  beforeAll(async () => {
    await port.start();
    t = await startTestApp({
      ROLE: 'api',
      RULES_FILE: writeRulesFile('rules:\n  - id: svc\n    blueprint: service\n    do:\n      - http: { url: "https://scaler.example.com/x" }\n'),
      PORT_API_URL: port.url('/v1'), PORT_CLIENT_ID: 'cid', PORT_CLIENT_SECRET: 'csecret', WEBHOOK_SIGNATURE: 'off',
      RECONCILE_INTERVAL: '1h', RECONCILE_ON_START: 'true',
      REGISTER_CHANGELOG_DESTINATION: 'true', PUBLIC_URL: 'https://reactor.example.com/',
    });
    await t.app.get(SourcesService).startAll();
  });
  afterAll(async () => {
    await t.app.get(SourcesService).stopAll();
    await t.close();
    await port.stop();
  });

  const queued = () => t.recorded();

  it('should register the rules\' blueprint and record Port\'s entities on start, queueing nothing', async () => {
    await waitFor(async () => port.requests.some((r) => r.path.endsWith('/blueprints/service/entities/search')) || undefined, 5_000, 'the first listing');
    await new Promise((resolve) => setTimeout(resolve, 300));

    expect(catalog.blueprints.service.changelogDestination).toEqual({ type: 'WEBHOOK', url: 'https://reactor.example.com/webhooks/port' });
    expect(await queued()).toEqual([]);
  });

  it('should queue a reconcile event for a change Port made while no webhook arrived', async () => {
    catalog.entities.service = [svc('a', 'Degraded'), svc('b')];
    await t.app.get(SourcesService).reconcileNow();

    const events = await waitFor(async () => ((await queued()).length === 1 ? queued() : undefined), 5_000, 'the reconcile event');
    expect(events[0]).toMatchObject({ source: 'reconcile', action: 'UPDATE', blueprint: 'service', entity: 'a' });
  });
});
