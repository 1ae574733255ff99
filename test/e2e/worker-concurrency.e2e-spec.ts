import { deploymentUpdate } from '../factories/deployment-update';
import { hang, MockTarget, status } from '../support/mock-target';
import { startTestApp, TestApp, waitFor, writeRulesFile } from '../support/test-app';
import { EventRecordStore } from '../../src/events/event-record.store';
import { QueueName } from '../../src/queue/queue-names';

// More than the 32 actions a worker used to run at once, whatever WORKER_CONCURRENCY said.
const HANGING = 40;

function rules(slack: MockTarget, scaler: MockTarget, timeoutMs: number): Record<string, string> {
  return {
    RULES_FILE: writeRulesFile(`
rules:
  - id: scale-on-memory
    blueprint: deploymentConfig
    when:
      - changed: properties.memoryUtil
    do:
      - http: { url: "${scaler.url('/scale')}", timeoutMs: ${timeoutMs} }
  - id: health-to-slack
    blueprint: deploymentConfig
    when:
      - changed: properties.healthStatus
    do:
      - slack: { text: "{{ .context.entity }} is {{ .diff.after.properties.healthStatus }}" }
`),
    SLACK_WEBHOOK_URL: slack.url('/services/T/B/concurrency'),
    HTTP_ACTION_ALLOWED_HOSTS: `127.0.0.1:${scaler.port}`,
    SLACK_MAX_PER_SECOND: '50',
    ACTION_ATTEMPTS: '1',
  };
}

let scalerEvents = 0;
/** `count` scaler-bound events (memoryUtil changes), each distinct; their event ids. */
async function sendScalerEvents(t: TestApp, count: number): Promise<string[]> {
  const eventIds: string[] = [];
  for (let i = 0; i < count; i += 1) {
    scalerEvents += 1;
    const response = await t.app.inject({ method: 'POST', url: '/webhooks/port', payload: deploymentUpdate({ memoryUtil: 50 + scalerEvents }, new Date(Date.UTC(2026, 0, 1) + scalerEvents).toISOString()) });
    expect(response.statusCode).toBe(202);
    eventIds.push((response.json() as { eventId: string }).eventId);
  }
  return eventIds;
}

async function sendSlackEvent(t: TestApp): Promise<void> {
  const response = await t.app.inject({ method: 'POST', url: '/webhooks/port', payload: deploymentUpdate({ healthStatus: 'Degraded' }) });
  expect(response.statusCode).toBe(202);
}

/** A ROLE=all app with WORKER_CONCURRENCY=`concurrency`, a Slack mock and a scaler mock that hangs until told otherwise. */
function withWorker(concurrency: number, scalerTimeoutMs: number) {
  const ctx = { slack: new MockTarget(), scaler: new MockTarget().otherwise(hang), t: undefined as unknown as TestApp };
  beforeAll(async () => {
    await Promise.all([ctx.slack.start(), ctx.scaler.start()]);
    ctx.t = await startTestApp({ ...rules(ctx.slack, ctx.scaler, scalerTimeoutMs), WORKER_CONCURRENCY: String(concurrency) });
  });
  afterAll(async () => {
    await ctx.scaler.stop(); // the hanging calls end now, so the worker can close
    await ctx.t.close();
    await ctx.slack.stop();
  });
  return ctx;
}

describe('WORKER_CONCURRENCY: how many actions a worker runs at once', () => {
  jest.setTimeout(30_000);
  const ctx = withWorker(64, 8000);

  it('should deliver a Slack message at once while 40 calls to a hanging scaler wait for their timeout', async () => {
    const { t, slack, scaler } = ctx;
    const started = Date.now();
    await sendScalerEvents(t, HANGING);
    // All 40 in flight together: with 32 slots the last 8 would wait for the first timeouts (8 s).
    await waitFor(async () => scaler.requests.length >= HANGING, 5_000, `${HANGING} scaler calls in flight at once`);

    await sendSlackEvent(t);
    await waitFor(async () => slack.requests.length > 0, 5_000, 'the Slack message');

    expect(slack.requests[0].body).toEqual({ text: 'notification-service-prod is Degraded' });
    expect(Date.now() - started).toBeLessThan(8_000); // no slot was freed by a timeout first
  });
});

describe('a hanging target takes at most three quarters of a worker once it is slow (WORKER_CONCURRENCY=8: 6 calls)', () => {
  jest.setTimeout(30_000);
  const ctx = withWorker(8, 4000);

  it('should keep sending Slack messages while the scaler hangs, then run the put-back calls without using an attempt', async () => {
    const { t, slack, scaler } = ctx;
    await sendScalerEvents(t, 4);
    await waitFor(async () => scaler.requests.length >= 4, 5_000, '4 scaler calls in flight');
    // The scaler counts as slow once a call to it has waited 1 s; until then it may take every slot.
    const firstCall = scaler.requests[0].at;
    await waitFor(async () => Date.now() >= firstCall + 1_000, 5_000, 'the first call to be 1 s old');
    const later = await sendScalerEvents(t, 8);
    await sendSlackEvent(t);
    await waitFor(async () => slack.requests.length > 0, 5_000, 'the Slack message');

    // A put-back action's record says why it has not run: not stuck, and no attempt used.
    const records = t.app.get(EventRecordStore);
    const putBack = await waitFor(async () => {
      for (const eventId of later) {
        const waiting = (await records.get(eventId))?.actions.find((action) => action.waiting);
        if (waiting) return waiting;
      }
      return undefined;
    }, 5_000, 'a put-back action noted as waiting');
    expect(putBack).toMatchObject({ status: 'queued', attempts: 0, waiting: { reason: 'target slow: put back (1st time), no attempt used' } });

    // Sent before the first hanging call timed out (4 s), with only 6 calls on the scaler until then.
    const firstTimeout = firstCall + 4_000;
    expect(slack.requests[0].at).toBeLessThan(firstTimeout);
    expect(scaler.requests.filter((request) => request.at < firstTimeout)).toHaveLength(6);

    scaler.otherwise(status(200));
    const actions = t.queue(QueueName.Actions);
    const counts = await waitFor(async () => {
      const now = await actions.getJobCounts('completed', 'failed', 'delayed', 'active', 'wait');
      return now.completed + now.failed === 13 ? now : undefined;
    }, 20_000, 'every action to finish');

    // The 6 that hung failed (one attempt each); the 6 put back ran once the scaler answered, though
    // ACTION_ATTEMPTS=1 left them no retry.
    expect(counts).toMatchObject({ completed: 7, failed: 6 });
    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(Number(/^reactor_actions_put_back_total\{type="http"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(6);
  });
});

describe('a target that hangs from its first call holds no more than its share (WORKER_CONCURRENCY=8: 6 calls)', () => {
  jest.setTimeout(30_000);
  const ctx = withWorker(8, 4000);

  it('should send a Slack message queued behind a burst of calls to it long before they time out', async () => {
    const { t, slack, scaler } = ctx;
    // All at once, before any call to the scaler has waited 1 s: it is not known to be slow yet.
    await sendScalerEvents(t, 12);
    await sendSlackEvent(t);
    await waitFor(async () => slack.requests.length > 0, 5_000, 'the Slack message');

    // Calls over the share waited 250 ms for a place, then went back to the queue: the Slack job
    // behind them got one of the two slots left. Before, the first 8 calls took every slot until
    // their timeout (4 s).
    const firstCall = scaler.requests[0].at;
    expect(slack.requests[0].at - firstCall).toBeLessThan(2_500);
    expect(scaler.requests.filter((request) => request.at < firstCall + 4_000)).toHaveLength(6);
  });
});
