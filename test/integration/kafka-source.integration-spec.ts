import { Logger } from '@nestjs/common';
import { ChangeEvent } from '../../src/changes/change-event';
import { EventIntakeService, QueueUnavailableError } from '../../src/ingest/event-intake.service';
import { MetricsService } from '../../src/ops/metrics.service';
import { SourcesService } from '../../src/sources/sources.service';
import { KafkaMockCluster } from '../support/kafka-mock-cluster';
import { readSampleText } from '../support/port-samples';
import { removeKeys, startTestApp, TestApp, waitFor } from '../support/test-app';

const TOPIC = 'org_test.change.log';
const vmUpdate = JSON.parse(readSampleText('kafka-changelog-entity-update-vm-free_storage.json'));
const runCreate = readSampleText('kafka-changelog-run-create-port-agent-fixture.json');
const vmAt = (at: string) => JSON.stringify({ ...vmUpdate, trigger: { ...vmUpdate.trigger, at } });

describe('Kafka source: ORG_ID.change.log through librdkafka mock cluster (kcat)', () => {
  jest.setTimeout(60_000);
  const cluster = new KafkaMockCluster();
  let t: TestApp;

  beforeAll(async () => {
    await cluster.start();
    await cluster.produce(TOPIC, ['{"warm-up": "creates the topic"}']);
    t = await startTestApp({ ROLE: 'api', KAFKA_BROKERS: cluster.bootstrap, KAFKA_ORG_ID: 'org_test' });
    await t.app.get(SourcesService).startAll();
    await waitFor(async () => t.app.get(SourcesService).statuses().some((s) => s.name === 'kafka' && s.state === 'connected'), 30_000, 'the consumer group join');
    // A new group starts at the latest offset, fixed at its first fetch: probe until one message arrives.
    await waitFor(async () => {
      await cluster.produce(TOPIC, [vmAt('2026-01-01T00:00:00.000Z')]);
      await new Promise((resolve) => setTimeout(resolve, 500));
      return (await t.recorded()).length > 0;
    }, 30_000, 'the consumer to read the topic');
    await removeKeys(t.config.queuePrefix);
  });
  afterAll(async () => {
    await t.app.get(SourcesService).stopAll();
    await t.close();
    await cluster.stop();
  });

  const queued = () => t.recorded();

  it('should queue change.log messages as kafka events and skip what is not a change event, reading JSON as the webhook route does', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn');
    const poisoned = vmAt('2026-11-22T10:00:03.000Z').replace('{', '{"__proto__": {"x": 1},');
    const withBom = `\ufeff${vmAt('2026-11-22T10:00:02.000Z')}`;
    await cluster.produce(TOPIC, [vmAt('2026-11-22T10:00:00.000Z'), 'not json at all', '{"action": 42}', runCreate, poisoned, withBom, vmAt('2026-11-22T10:00:01.000Z')]);

    const events = await waitFor(async () => ((await queued()).length >= 4 ? queued() : undefined), 20_000, 'four queued events');
    expect(events.map((e) => [e.source, e.resourceType, e.action, e.body.trigger?.at])).toEqual(
      expect.arrayContaining([
        ['kafka', 'entity', 'UPDATE', '2026-11-22T10:00:00.000Z'],
        ['kafka', 'run', 'CREATE', '2022-11-16T16:31:32.447Z'],
        ['kafka', 'entity', 'UPDATE', '2026-11-22T10:00:02.000Z'],
        ['kafka', 'entity', 'UPDATE', '2026-11-22T10:00:01.000Z'],
      ]),
    );
    expect(events).toHaveLength(4);
    // Counted as the webhook counts a 400: not JSON, not a change event, a poisoning key.
    const counted = await t.app.get(MetricsService).registry.getSingleMetricAsString('reactor_events_received_total');
    expect(counted).toContain('reactor_events_received_total{source="kafka",outcome="rejected_invalid"} 3');
    // Each skip says why, never quoting the value.
    const skips = warn.mock.calls.map(([line]) => String(line)).filter((line) => line.startsWith('skipped '));
    warn.mockRestore();
    // (the mock cluster's partitions may hand them over in any order)
    expect(skips.map((line) => line.replace(/^skipped \S+: /, '')).sort()).toEqual([
      'Body holds a "__proto__" or "constructor" key, which is refused (prototype poisoning)',
      'not JSON',
      'not a Port change event (action, resourceType, context)',
    ]);
    expect(events.find((e) => e.resourceType === 'run')?.body.changelogDestination).toEqual(expect.objectContaining({ type: 'WEBHOOK' }));
  });

  it('should not commit a message while Redis is unavailable, and queue it once when it is back', async () => {
    const intake = t.app.get(EventIntakeService);
    const accept = jest.spyOn(intake, 'accept').mockRejectedValueOnce(new QueueUnavailableError(new Error('connection refused')));
    const before = (await queued()).length;

    await cluster.produce(TOPIC, [vmAt('2026-11-22T11:00:00.000Z')]);

    const events = await waitFor(async () => ((await queued()).length > before ? queued() : undefined), 20_000, 'the redelivered message');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(accept.mock.calls.length).toBeGreaterThanOrEqual(2);
    expect((await queued()).filter((e) => e.body.trigger?.at === '2026-11-22T11:00:00.000Z')).toHaveLength(1);
    expect(events.length).toBe(before + 1);
    accept.mockRestore();
  });

  it('should report the topic in readiness', async () => {
    const ready = (await t.app.inject({ method: 'GET', url: '/health/ready' })).json();
    expect(ready.info.source_kafka).toEqual({ status: 'up', state: 'connected', detail: TOPIC });
  });
});
