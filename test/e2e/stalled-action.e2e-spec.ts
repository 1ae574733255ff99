import { Worker } from 'bullmq';
import Redis from 'ioredis';
import { EventRecordStore } from '../../src/events/event-record.store';
import { MetricsService } from '../../src/ops/metrics.service';
import { ActionProcessor, MAX_STALLED_COUNT } from '../../src/queue/action.processor';
import { QueueName } from '../../src/queue/queue-names';
import { deploymentUpdate } from '../factories/deployment-update';
import { MockTarget } from '../support/mock-target';
import { REDIS_URL, startTestApp, TestApp, uniquePrefix, waitFor, writeRulesFile } from '../support/test-app';

/**
 * A worker that takes jobs and dies with them: it never finishes one nor renews its lock, as a
 * process killed with -9 (or out of memory) does. Its stalled check, run often, is what another
 * worker's would do 30 s later: it takes the job back to the queue, counting the stall.
 */
async function dieHolding(prefix: string): Promise<void> {
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const dying = new Worker(QueueName.Actions, null, { connection, prefix, autorun: false, lockDuration: 200, stalledInterval: 100, maxStalledCount: MAX_STALLED_COUNT });
  const job = await waitFor(async () => (await dying.getNextJob('dead-worker-token', { block: false })) ?? false, 10_000, 'a job to take');
  void dying.startStalledCheckTimer(); // a loop until the worker closes
  await waitFor(async () => (await job.isWaiting()) || (await job.isFailed()), 10_000, 'the job back in the queue');
  await dying.close(true);
  connection.disconnect();
}

describe('An action whose workers keep dying while they run it', () => {
  jest.setTimeout(60_000);
  const scaler = new MockTarget();
  let api: TestApp;
  let worker: TestApp | undefined;
  let prefix: string;

  beforeAll(async () => {
    await scaler.start();
  });

  beforeEach(() => {
    prefix = uniquePrefix();
    scaler.requests.length = 0;
  });

  afterEach(async () => {
    await worker?.close();
    await api.close();
  });

  const env = () => ({
    QUEUE_PREFIX: prefix,
    RULES_FILE: writeRulesFile(`rules:\n  - id: scale\n    blueprint: deploymentConfig\n    do:\n      - http: { url: "${scaler.url('/scale')}" }\n`),
    HTTP_ACTION_ALLOWED_HOSTS: `127.0.0.1:${scaler.port}`,
  });

  it(`should run an action again after its workers died with it ${MAX_STALLED_COUNT} times`, async () => {
    api = await startTestApp({ ...env(), ROLE: 'api' });
    const answer = await api.app.inject({ method: 'POST', url: '/webhooks/port', payload: deploymentUpdate({ memoryUtil: 92 }) });
    const { eventId } = answer.json() as { eventId: string };

    for (let death = 1; death <= MAX_STALLED_COUNT; death += 1) await dieHolding(prefix);
    worker = await startTestApp({ ...env(), ROLE: 'worker' });

    await waitFor(async () => (await api.app.get(EventRecordStore).get(eventId))?.actions[0]?.status === 'succeeded', 10_000, 'the action to succeed');
    expect(scaler.requests).toHaveLength(1);
    // The stalled checks above stand for the service's own workers' (BullMQ's default gives up after 1).
    expect(worker.app.get(ActionProcessor).worker.opts.maxStalledCount).toBe(MAX_STALLED_COUNT);
  });

  afterAll(async () => {
    await scaler.stop();
  });

  it(`should record, count and log an action failed once its workers died with it ${MAX_STALLED_COUNT + 1} times`, async () => {
    api = await startTestApp({ ...env(), ROLE: 'api' });
    const answer = await api.app.inject({ method: 'POST', url: '/webhooks/port', payload: deploymentUpdate({ memoryUtil: 91 }) });
    const { eventId } = answer.json() as { eventId: string };

    for (let death = 1; death <= MAX_STALLED_COUNT + 1; death += 1) await dieHolding(prefix);
    expect(scaler.requests).toHaveLength(0);
    worker = await startTestApp({ ...env(), ROLE: 'worker' });

    const records = api.app.get(EventRecordStore);
    const record = await waitFor(async () => {
      const current = await records.get(eventId);
      return current?.actions[0]?.status === 'failed' ? current : undefined;
    }, 10_000, 'the action recorded failed');
    expect(record.actions[0]).toMatchObject({ status: 'failed', lastError: { message: expect.stringContaining(`its worker stopped while running it (killed, or hung past its 30 s lock) ${MAX_STALLED_COUNT + 1} times`) } });
    expect(await worker.app.get(MetricsService).registry.getSingleMetricAsString('reactor_actions_total')).toContain('reactor_actions_total{type="http",outcome="failed"} 1');
    expect(scaler.requests).toHaveLength(0);
  });
});
