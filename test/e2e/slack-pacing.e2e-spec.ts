import { ReplyError } from 'ioredis';
import { TargetPacer } from '../../src/actions/target-pacer';
import { EventRecord } from '../../src/events/event-record';
import { MockTarget, ReceivedRequest, status } from '../support/mock-target';
import { readSample } from '../support/port-samples';
import { startTestApp, TestApp, waitFor, writeRulesFile } from '../support/test-app';

const ADMIN = 'admin-token-for-pacing-tests-0123';
const PER_SECOND = 4;
const INTERVAL_MS = 1000 / PER_SECOND;
const BURST = 6;
// A send starts after its slot, by up to about one Redis timer tick (100 ms at the default hz 10: BullMQ's delayed
// jobs wake on a blocking-command timeout) plus the worker's own latency; one message late and the next on time
// are closer than the interval. Measured here: up to ~80 ms; without pacing the gaps would be ~0.
const LATE_START_MS = 120;
const entity = readSample('entity-deploymentConfig-notification-service-prod.json') as { properties: Record<string, unknown> };

/** A deploymentConfig UPDATE whose memoryUtil becomes `n`: distinct n, distinct event. */
function deploymentUpdate(n: number) {
  const before = { ...entity, blueprint: 'deploymentConfig' };
  return {
    action: 'UPDATE', resourceType: 'entity', status: 'SUCCESS',
    trigger: { by: { orgId: 'org_1', userId: 'someone@example.com' }, origin: 'UI', at: new Date().toISOString() },
    context: { entity: 'notification-service-prod', blueprint: 'deploymentConfig', runId: null },
    diff: { before, after: { ...before, properties: { ...entity.properties, memoryUtil: n } } },
  };
}

const texts = (requests: ReceivedRequest[]) => requests.map((request) => (request.body as { text: string }).text);

/**
 * Pairs of messages closer than their slots allow. A send may start late (its first connection, a
 * busy machine: once 200 ms in CI) and so come close to the next one, which keeps its own slot; but
 * never to the one after: message k goes out no sooner than k - j - 1 intervals after message j < k.
 * Without pacing every gap is ~0, so the pairs two apart still catch it.
 */
function tooClose(requests: ReceivedRequest[]): string[] {
  const close: string[] = [];
  requests.forEach((later, k) => requests.slice(0, k).forEach((earlier, j) => {
    const apart = later.at - earlier.at;
    if (apart < (k - j - 1) * INTERVAL_MS - LATE_START_MS) close.push(`#${j} -> #${k}: ${apart} ms`);
  }));
  return close;
}

/** An app with one rule: a Slack message per deploymentConfig update, to one webhook at `perSecond`. */
function startOneChannelApp(webhookUrl: string, perSecond: number, env: Record<string, string> = {}): Promise<TestApp> {
  return startTestApp({
    RULES_FILE: writeRulesFile(`
rules:
  - id: every-update
    blueprint: deploymentConfig
    events: [UPDATE]
    do:
      - slack:
          text: "memory {{ .diff.after.properties.memoryUtil }}"
`),
    SLACK_WEBHOOK_URL: webhookUrl,
    SLACK_MAX_PER_SECOND: String(perSecond),
    ADMIN_TOKEN: ADMIN,
    ...env,
  });
}

async function recordOf(t: TestApp, eventId: string): Promise<EventRecord | undefined> {
  const response = await t.app.inject({ method: 'GET', url: `/events/${eventId}`, headers: { authorization: `Bearer ${ADMIN}` } });
  return response.statusCode === 200 ? (response.json() as EventRecord) : undefined;
}

describe('Slack pacing per webhook URL (SLACK_MAX_PER_SECOND=4)', () => {
  jest.setTimeout(30_000);
  const channelA = new MockTarget();
  const channelB = new MockTarget();
  let t: TestApp;

  beforeAll(async () => {
    await Promise.all([channelA.start(), channelB.start()]);
    t = await startTestApp({
      RULES_FILE: writeRulesFile(`
rules:
  - id: every-update-to-a
    blueprint: deploymentConfig
    events: [UPDATE]
    do:
      - slack:
          text: "A memory {{ .diff.after.properties.memoryUtil }}"
  - id: every-update-to-b
    blueprint: deploymentConfig
    events: [UPDATE]
    do:
      - slack:
          webhookUrl: "${channelB.url('/services/T1/B1/channel-b')}"
          text: "B memory {{ .diff.after.properties.memoryUtil }}"
`),
      SLACK_WEBHOOK_URL: channelA.url('/services/T0/B0/channel-a'),
      HTTP_ACTION_ALLOWED_HOSTS: `127.0.0.1:${channelB.port}`,
      SLACK_MAX_PER_SECOND: String(PER_SECOND),
      ADMIN_TOKEN: ADMIN,
    });
  });
  afterAll(async () => {
    await t.close();
    await Promise.all([channelA.stop(), channelB.stop()]);
  });

  const record = (eventId: string) => recordOf(t, eventId);

  it('should space one webhook\'s messages 1/4 s apart, lose none, and not hold another webhook behind it', async () => {
    const values = Array.from({ length: BURST }, (_, i) => 40 + i);
    const burstAt = Date.now();
    const responses = await Promise.all(values.map((n) => t.app.inject({ method: 'POST', url: '/webhooks/port', payload: deploymentUpdate(n) })));
    expect(responses.map((response) => response.statusCode)).toEqual(values.map(() => 202));
    const eventIds = responses.map((response) => response.json().eventId as string);
    expect(new Set(eventIds).size).toBe(BURST);

    // While the burst is paced, a record says why its action has not run yet and until when.
    const held = await waitFor(async () => {
      for (const eventId of eventIds) {
        const waiting = (await record(eventId))?.actions.find((action) => action.waiting);
        if (waiting) return waiting;
      }
      return undefined;
    }, 5_000, 'a paced action noted as waiting');
    expect(held).toMatchObject({ status: 'queued', attempts: 0, waiting: { reason: 'Slack pacing: 4 message(s) per second per webhook' } });
    expect(Date.parse(held.waiting!.until)).toBeGreaterThan(burstAt);

    const records = await Promise.all(eventIds.map((eventId) =>
      waitFor(async () => {
        const r = await record(eventId);
        return r && (r.status === 'succeeded' || r.status === 'failed') ? r : undefined;
      }, 15_000, `event ${eventId} to settle`),
    ));

    expect(texts(channelA.requests).sort()).toEqual(values.map((n) => `A memory ${n}`));
    expect(texts(channelB.requests).sort()).toEqual(values.map((n) => `B memory ${n}`));
    for (const requests of [channelA.requests, channelB.requests]) {
      expect(tooClose(requests)).toEqual([]);
      const spread = requests[BURST - 1].at - requests[0].at;
      expect(spread).toBeGreaterThanOrEqual(1100);
      // A delayed job keeps its slot: it never queues again behind later ones, so the burst takes 5 intervals, not more.
      expect(spread).toBeLessThan((BURST - 1) * INTERVAL_MS + 2 * LATE_START_MS);
    }
    // B has a pace of its own: its first message does not wait behind A's.
    expect(channelB.requests[0].at - burstAt).toBeLessThan(300);
    for (const r of records) {
      expect(r.status).toBe('succeeded');
      expect([...r.actions].sort((x, y) => x.ruleId.localeCompare(y.ruleId))).toEqual([
        expect.objectContaining({ ruleId: 'every-update-to-a', type: 'slack', status: 'succeeded', attempts: 1 }),
        expect.objectContaining({ ruleId: 'every-update-to-b', type: 'slack', status: 'succeeded', attempts: 1 }),
      ]);
      // Once sent, the note is gone.
      expect(r.actions.filter((action) => action.waiting)).toEqual([]);
    }
  });
});

describe('Slack pacing of a retry (SLACK_MAX_PER_SECOND=4)', () => {
  jest.setTimeout(30_000);
  const channel = new MockTarget();
  let t: TestApp;

  beforeAll(async () => {
    await channel.start();
    t = await startOneChannelApp(channel.url('/services/T0/B0/channel'), PER_SECOND, { ACTION_RETRY_BASE_MS: '100' });
  });
  afterAll(async () => {
    await t.close();
    await channel.stop();
  });

  const record = (eventId: string) => recordOf(t, eventId);

  it('should note why a retrying action waits and keep its last error, until it is sent', async () => {
    // The burst's first message fails; its retry (about 0.1 s later) finds the webhook's next slots taken by the rest.
    channel.script(status(500));
    const responses = await Promise.all(Array.from({ length: 8 }, (_, i) => t.app.inject({ method: 'POST', url: '/webhooks/port', payload: deploymentUpdate(10 + i) })));
    expect(responses.map((response) => response.statusCode)).toEqual(responses.map(() => 202));
    const eventIds = responses.map((response) => response.json().eventId as string);

    const held = await waitFor(async () => {
      for (const eventId of eventIds) {
        const retrying = (await record(eventId))?.actions.find((action) => action.status === 'retrying' && action.waiting);
        if (retrying) return retrying;
      }
      return undefined;
    }, 5_000, 'the retry noted as waiting');
    expect(held).toMatchObject({ attempts: 1, lastError: { statusCode: 500 }, waiting: { reason: 'Slack pacing: 4 message(s) per second per webhook' } });

    const records = await Promise.all(eventIds.map((eventId) => waitFor(async () => {
      const r = await record(eventId);
      return r?.status === 'succeeded' ? r : undefined;
    }, 15_000, `event ${eventId} to succeed`)));
    const actions = records.flatMap((r) => r.actions);
    expect(actions.map((action) => action.attempts).sort()).toEqual([1, 1, 1, 1, 1, 1, 1, 2]);
    expect(actions.filter((action) => action.waiting)).toEqual([]);
    expect(channel.requests).toHaveLength(9);
  });
});

describe('Slack answering 429 (SLACK_MAX_PER_SECOND=20)', () => {
  jest.setTimeout(30_000);
  const channel = new MockTarget();
  let t: TestApp;

  beforeAll(async () => {
    await channel.start();
    t = await startOneChannelApp(channel.url('/services/T0/B0/limited'), 20);
  });
  afterAll(async () => {
    await t.close();
    await channel.stop();
  });

  it("should hold the webhook's other messages until its Retry-After, not spend their attempts on the limit", async () => {
    channel.script(status(429, 'rate_limited', { 'retry-after': '2' }));
    const responses = await Promise.all(Array.from({ length: 6 }, (_, i) => t.app.inject({ method: 'POST', url: '/webhooks/port', payload: deploymentUpdate(60 + i) })));
    const eventIds = responses.map((response) => response.json().eventId as string);

    const records = await Promise.all(eventIds.map((eventId) => waitFor(async () => {
      const r = await recordOf(t, eventId);
      return r?.status === 'succeeded' ? r : undefined;
    }, 20_000, `event ${eventId} to succeed`)));

    // One 429; then nothing to that webhook for its 2 s (but messages already on their way, at most a
    // block's worth: one at 20/s), then all six.
    const limitedAt = channel.requests[0].at;
    const during = channel.requests.slice(1).filter((request) => request.at < limitedAt + 1_900);
    expect(during.length).toBeLessThanOrEqual(1);
    expect(texts(channel.requests.slice(1)).sort()).toEqual(Array.from({ length: 6 }, (_, i) => `memory ${60 + i}`).sort());
    expect(records.flatMap((r) => r.actions).map((action) => action.attempts).sort()).toEqual([1, 1, 1, 1, 1, 2]);
  });
});

describe('Slack pacing when Redis refuses its write', () => {
  jest.setTimeout(30_000);
  let channel: MockTarget;
  let t: TestApp;

  beforeEach(async () => {
    channel = await new MockTarget().start();
    t = await startOneChannelApp(channel.url('/services/T0/B0/oom'), 20, { ACTION_ATTEMPTS: '2', ACTION_RETRY_BASE_MS: '100' });
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await t.close();
    await channel.stop();
  });

  const actionsTotal = async () => {
    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    return metrics.split('\n').filter((line) => line.startsWith('reactor_actions_total{'));
  };

  it('should put the message back without using an attempt while Redis is out of memory, and send it once after', async () => {
    // What the pacing script meets in Redis past maxmemory (noeviction): its SET refused.
    const reserve = jest.spyOn(t.app.get(TargetPacer), 'reserve');
    reserve.mockRejectedValueOnce(new ReplyError("OOM command not allowed when used memory > 'maxmemory'. script: b53a97, on @user_script:8.")).mockRejectedValueOnce(new ReplyError('OOM command not allowed'));

    const { eventId } = (await t.app.inject({ method: 'POST', url: '/webhooks/port', payload: deploymentUpdate(1) })).json() as { eventId: string };

    const record = await waitFor(async () => {
      const r = await recordOf(t, eventId);
      return r?.status === 'succeeded' ? r : undefined;
    }, 25_000, 'the message sent once Redis takes writes again');
    expect(reserve.mock.calls.length).toBeGreaterThanOrEqual(3);
    expect(record.actions).toEqual([expect.objectContaining({ status: 'succeeded', attempts: 1 })]);
    expect(texts(channel.requests)).toEqual(['memory 1']);
    expect(await actionsTotal()).toEqual(['reactor_actions_total{type="slack",outcome="succeeded"} 1']);
  });

  it('should record, count and log as failed an action whose last attempt ended before it ran', async () => {
    jest.spyOn(t.app.get(TargetPacer), 'reserve').mockRejectedValue(new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value'));

    const { eventId } = (await t.app.inject({ method: 'POST', url: '/webhooks/port', payload: deploymentUpdate(2) })).json() as { eventId: string };

    const record = await waitFor(async () => {
      const r = await recordOf(t, eventId);
      return r?.status === 'failed' ? r : undefined;
    }, 10_000, 'the action recorded failed');
    expect(record.actions).toEqual([
      expect.objectContaining({ status: 'failed', attempts: 2, lastError: { message: 'its last attempt ended before it was run: WRONGTYPE Operation against a key holding the wrong kind of value' } }),
    ]);
    expect(channel.requests).toEqual([]);
    expect((await actionsTotal()).sort()).toEqual(['reactor_actions_total{type="slack",outcome="failed"} 1', 'reactor_actions_total{type="slack",outcome="retried"} 1']);
  });
});
