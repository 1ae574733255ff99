import type Redis from 'ioredis';
import { readSample } from '../support/port-samples';
import { removeKeys, startTestApp, TestApp, writeRulesFile } from '../support/test-app';
import { PRODUCER_REDIS } from '../../src/queue/producer-redis.provider';
import { QueueName } from '../../src/queue/queue-names';
import { EventEvaluationService } from '../../src/rules/event-evaluation.service';

const vmUpdate = readSample('kafka-changelog-entity-update-vm-free_storage.json') as Record<string, unknown>;
const automationTriggerData = readSample('automation-triggerdata-entity-updated-service.json') as Record<string, unknown>;
const automationEvent = readSample('automation-event-entity-updated-service.json') as Record<string, unknown>;
const timerExpired = readSample('changelog-timer-expired-entity.json') as Record<string, unknown>;

function without(body: Record<string, unknown>, path: string): Record<string, unknown> {
  const copy = structuredClone(body);
  const keys = path.split('.');
  const last = keys.pop()!;
  let node = copy as Record<string, unknown>;
  for (const key of keys) node = node[key] as Record<string, unknown>;
  delete node[last];
  return copy;
}

function withValue(body: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const copy = structuredClone(body);
  const keys = path.split('.');
  const last = keys.pop()!;
  let node = copy as Record<string, unknown>;
  for (const key of keys) node = node[key] as Record<string, unknown>;
  node[last] = value;
  return copy;
}

// One http action for every CREATE, UPDATE or DELETE: with no worker (ROLE=api) its job stays queued to be counted.
// Its template runs in jq (not a plain path, which is read without jq), so jq must read every event taken.
const EVERY_CHANGE = `rules:
  - id: every-change
    do:
      - http:
          url: "http://127.0.0.1:9/{{ .event.id | ascii_downcase }}"
`;

describe('POST /webhooks/port (ROLE=api, real Redis)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ ROLE: 'api', RULES_FILE: writeRulesFile(EVERY_CHANGE) });
  });
  afterAll(() => t.close());
  beforeEach(() => removeKeys(t.config.queuePrefix));

  const post = (payload: unknown, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'POST', url: '/webhooks/port', payload: payload as object, headers: { 'content-type': 'application/json', ...headers } });
  const actionJobs = () => t.queue(QueueName.Actions).getJobs(['waiting', 'delayed', 'active', 'completed', 'failed']);
  /** Nothing of the request is left in Redis: no record, no job. */
  const nothingQueued = async () => {
    expect(await t.recorded()).toHaveLength(0);
    expect(await actionJobs()).toHaveLength(0);
  };

  it.each([
    ['legacy changelog (Kafka change.log body)', vmUpdate, 'vm', 'storage-example', 'UPDATE'],
    ['Automation trigger data wrapped in {event}', automationTriggerData, 'service', 'example-service-identifier', 'UPDATE'],
    ['Automation event itself', automationEvent, 'service', 'example-service-identifier', 'UPDATE'],
    ['TIMER_EXPIRED without diff', timerExpired, 'timerExample', 'entityIdentifier', 'TIMER_EXPIRED'],
  ])('should answer 202 once it has recorded the event and queued its actions: %s', async (_name, body, blueprint, entity, action) => {
    const response = await post(body);

    expect(response.statusCode).toBe(202);
    const answer = response.json();
    expect(answer).toEqual({ eventId: expect.stringMatching(/^evt_[0-9a-f]{32}$/), duplicate: false });
    const recorded = await t.recorded();
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({ id: answer.eventId, source: 'webhook', blueprint, entity, action });
    // A rule without `events` reacts to CREATE, UPDATE and DELETE: a timer's expiry matches nothing.
    const jobs = await actionJobs();
    expect(jobs.map((job) => job.data.eventId)).toEqual(action === 'TIMER_EXPIRED' ? [] : [answer.eventId]);
  });

  it("should take an Automation's run trigger data (its context holds the action only) as a run event, queueing nothing", async () => {
    const response = await post(readSample('automation-triggerdata-run-updated.json'));

    expect(response.statusCode).toBe(202);
    const [event] = await t.recorded();
    expect(event).toMatchObject({ resourceType: 'run', blueprint: 'blueprintIdentifier', entity: 'entityIdentifier', body: { context: { runId: 'r_Q0YotCZMKxDLdlaU' } } });
    expect(await actionJobs()).toHaveLength(0);
  });

  it('should keep unknown fields of the body on the recorded event', async () => {
    const response = await post({ ...vmUpdate, somethingNew: { nested: true } });

    expect(response.statusCode).toBe(202);
    const [event] = await t.recorded();
    expect(event.body.somethingNew).toEqual({ nested: true });
  });

  it('should answer duplicate: true and queue once when the same event is delivered again, even re-serialised', async () => {
    const first = await post(vmUpdate);
    const again = await post(vmUpdate);
    const reserialised = await post(JSON.stringify(vmUpdate, null, 4));
    const viaAutomation = await post({ event: vmUpdate });

    expect(first.json().duplicate).toBe(false);
    for (const response of [again, reserialised, viaAutomation]) {
      expect(response.statusCode).toBe(202);
      expect(response.json()).toEqual({ eventId: first.json().eventId, duplicate: true });
    }
    expect(await t.recorded()).toHaveLength(1);
    expect(await actionJobs()).toHaveLength(1);
  });

  const redis = async () => (await t.queue(QueueName.Actions).client) as unknown as Redis;
  const deliveredKey = (eventId: string) => `${t.config.queuePrefix}:delivered:${eventId}`;
  // What retention does to a finished action job (an hour later at most): its keys go, its dedupe key stays.
  const dropActionJob = async (keepDedupeKey: boolean) => {
    const [job] = await actionJobs();
    const key = `${t.config.queuePrefix}:${QueueName.Actions}`;
    const multi = (await redis()).multi().del(`${key}:${job.id}`).lrem(`${key}:wait`, 0, job.id!);
    if (!keepDedupeKey) multi.del(`${key}:de:${job.id}`);
    await multi.exec();
    return { jobId: job.id!, dedupeKey: `${key}:de:${job.id}` };
  };

  it('should still answer duplicate: true, and queue nothing, once the first action job is gone from the queue', async () => {
    const first = (await post(vmUpdate)).json();
    const { dedupeKey } = await dropActionJob(true);

    const again = await post(vmUpdate);

    expect(again.json()).toEqual({ eventId: first.eventId, duplicate: true });
    expect(await actionJobs()).toHaveLength(0);
    const window = t.config.dedupeTtlSeconds * 1000 - 60_000;
    expect(await (await redis()).pttl(deliveredKey(first.eventId))).toBeGreaterThan(window);
    expect(await (await redis()).pttl(dedupeKey)).toBeGreaterThan(window);
  });

  it('should queue the actions a first delivery did not get to (cut off after its record), and still answer duplicate', async () => {
    const first = (await post(vmUpdate)).json();
    const { jobId } = await dropActionJob(false);

    const again = await post(vmUpdate);

    expect(again.json()).toEqual({ eventId: first.eventId, duplicate: true });
    expect((await actionJobs()).map((job) => job.id)).toEqual([jobId]);
    expect(await t.recorded()).toHaveLength(1);
  });

  it('should take a redelivery as new once the dedupe window has passed', async () => {
    const first = (await post(vmUpdate)).json();
    const { dedupeKey } = await dropActionJob(true);
    await (await redis()).del(deliveredKey(first.eventId), dedupeKey);

    const again = await post(vmUpdate);

    expect(again.json()).toEqual({ eventId: first.eventId, duplicate: false });
    expect(await actionJobs()).toHaveLength(1);
  });

  it.each([
    ['action', without(vmUpdate, 'action')],
    ['action', withValue(vmUpdate, 'action', 42)],
    ['resourceType', without(vmUpdate, 'resourceType')],
    ['context', without(vmUpdate, 'context')],
    ['context.blueprint', without(vmUpdate, 'context.blueprint')],
    ['diff.before', withValue(vmUpdate, 'diff.before', 'yesterday')],
    ['diff.after', withValue(vmUpdate, 'diff.after', [1, 2])],
    ['trigger.at', withValue(vmUpdate, 'trigger.at', 'not a date')],
    ['body', JSON.stringify([vmUpdate])],
    ['body', JSON.stringify('just a string')],
    ['body', 'null'],
  ])('should answer 400 naming %s and queue nothing', async (field, body) => {
    const response = await post(body);

    expect(response.statusCode).toBe(400);
    expect(response.json().errors).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
    await nothingQueued();
  });

  it('should answer 400 for malformed JSON and queue nothing', async () => {
    const response = await post('{"action": "UPDATE",');

    expect(response.statusCode).toBe(400);
    expect(response.json().message).toContain('Body is not valid JSON');
    await nothingQueued();
  });

  it.each(['__proto__', 'constructor'])('should answer 400 saying why for valid JSON holding a "%s" key, and queue nothing', async (key) => {
    const body = JSON.stringify(vmUpdate).replace('"diff":', `"extra": {"${key}": {"prototype": {"x": 1}}}, "diff":`);
    const response = await post(body);

    expect(response.statusCode).toBe(400);
    expect(response.json().message).toBe('Body holds a "__proto__" or "constructor" key, which is refused (prototype poisoning)');
    await nothingQueued();
  });

  it.each([
    // Deeper than JSON.stringify can go: the record and the rules' context could not be written.
    ['in a field the event id does not cover', 'trigger.by.extra', 6_000],
    ['in the entity', 'diff.after.properties.blob', 6_000],
    // body > diff > after > properties: 4 levels; blob's value is depth + 1 more.
    ['just past the limit (126 levels)', 'diff.after.properties.blob', 121],
  ])('should answer 400 for a body nested too deeply %s, and queue nothing', async (_name, path, depth) => {
    // As text: too deep for JSON.stringify here as well.
    const deep = `${'{"a":'.repeat(depth)}{}${'}'.repeat(depth)}`;
    const response = await post(JSON.stringify(withValue(vmUpdate, path, 'DEEP')).replace('"DEEP"', deep));

    expect(response.statusCode).toBe(400);
    expect(response.json().errors).toEqual([{ field: 'body', message: 'body is nested too deeply (more than 125 levels of objects and arrays, which jq could not read)' }]);
    await nothingQueued();
  });

  it('should take a body nested as deep as the limit (125 levels)', async () => {
    let deep: unknown = 1;
    for (let i = 0; i < 121; i++) deep = { a: deep };
    const response = await post(withValue(vmUpdate, 'diff.after.properties.blob', deep));

    expect(response.statusCode).toBe(202);
    // The rule's template is jq: it could read the event, so its action is queued.
    expect(await actionJobs()).toHaveLength(1);
  });

  it.each(['text/plain', 'application/x-www-form-urlencoded'])('should answer 415 for a body that is not JSON: %s', async (contentType) => {
    const response = await t.app.inject({ method: 'POST', url: '/webhooks/port', payload: 'action=UPDATE&resourceType=entity', headers: { 'content-type': contentType } });

    expect(response.statusCode).toBe(415);
    await nothingQueued();
  });

  it('should answer 413 for a body over 1 MiB and queue nothing', async () => {
    const big = withValue(vmUpdate, 'diff.after.properties.blob', 'x'.repeat(1024 * 1024));
    const response = await post(big);

    expect(response.statusCode).toBe(413);
    await nothingQueued();
  });

  it.each([
    // A fault of ours is not an outage: a 500 that says nothing inside, not "Redis is unreachable".
    ['500 for a failure of its own', new TypeError("Cannot read properties of undefined (reading 'ruleId')"), 500, 'internal error'],
    // Redis restarting with its append-only file, or out of memory: Port should come back later.
    ['503 when Redis cannot take the event yet', Object.assign(new Error('LOADING Redis is loading the dataset in memory'), { name: 'ReplyError' }), 503, 'Redis is loading its data after a restart; retry later'],
    ['503 when Redis is out of memory', Object.assign(new Error("OOM command not allowed when used memory > 'maxmemory'."), { name: 'ReplyError' }), 503, 'Redis is out of memory and refuses writes (maxmemory reached); retry later'],
    ['503 when Redis is down', Object.assign(new Error("Stream isn't writeable and enableOfflineQueue options is false"), { name: 'Error' }), 503, 'Redis is unreachable; retry later'],
  ])('should answer %s', async (_name, failure, statusCode, message) => {
    const evaluate = jest.spyOn(t.app.get(EventEvaluationService), 'evaluate').mockRejectedValueOnce(failure);
    try {
      const response = await post(vmUpdate);

      expect(response.statusCode).toBe(statusCode);
      expect(response.json()).toMatchObject({ statusCode, message });
    } finally {
      evaluate.mockRestore();
    }
  });

  it('should report live and ready', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
    const ready = await t.app.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json().info).toMatchObject({ redis: { status: 'up' }, rules: { status: 'up', count: 1 } });
  });

  it('should report not ready while Redis is out of memory (it still answers PING, but refuses every write)', async () => {
    const memory = '# Memory\r\nused_memory:1100000\r\nmaxmemory:1048576\r\nmaxmemory_policy:noeviction\r\n';
    const info = jest.spyOn(t.app.get<Redis>(PRODUCER_REDIS), 'info').mockResolvedValue(memory);
    try {
      const ready = await t.app.inject({ method: 'GET', url: '/health/ready' });

      expect(ready.statusCode).toBe(503);
      expect(ready.json().error).toMatchObject({ redis: { status: 'down', message: expect.stringMatching(/^out of memory: /) } });
    } finally {
      info.mockRestore();
    }
  });
});

// jq 1.6 aborts the process on `todate` of a number gmtime cannot convert, and loops for ever on a
// global replace whose pattern matches the empty string (a common slug idiom): event data reached
// both. Each must fail only its own rule, recorded, and the webhook still be taken.
const FRAGILE_JQ = `rules:
  - id: when-as-date
    blueprint: vm
    do:
      - http:
          url: "http://127.0.0.1:9/at/{{ .entity.properties.free_storage | todate }}"
  - id: slug
    blueprint: vm
    do:
      - http:
          url: "http://127.0.0.1:9/slug/{{ .entity.title | ascii_downcase | gsub(\\"[^a-z0-9]*\\"; \\"\\") }}"
  - id: sound
    blueprint: vm
    do:
      - http:
          url: "http://127.0.0.1:9/ok/{{ .context.entity | ascii_downcase }}"
`;

describe('POST /webhooks/port with rules whose jq jq 1.6 would crash or hang on the data', () => {
  const ADMIN = 'admin-token-for-fragile-jq-0123';
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ ROLE: 'api', RULES_FILE: writeRulesFile(FRAGILE_JQ), ADMIN_TOKEN: ADMIN });
  });
  afterAll(() => t.close());

  it('should take the event, fail only those rules with jq\'s error, and run the sound one', async () => {
    // A timestamp in nanoseconds, as some exporters write them.
    const body = withValue(vmUpdate, 'diff.after.properties.free_storage', 1.7e18);
    const answer = await t.app.inject({ method: 'POST', url: '/webhooks/port', payload: body });
    expect(answer.statusCode).toBe(202);

    const record = await t.app.inject({ method: 'GET', url: `/events/${answer.json().eventId}`, headers: { authorization: `Bearer ${ADMIN}` } });
    expect(record.json()).toMatchObject({
      matchedRules: ['sound'],
      ruleFailures: [
        { ruleId: 'when-as-date', error: expect.stringContaining('converting number of seconds since epoch') },
        { ruleId: 'slug', error: expect.stringContaining('matches the empty string') },
      ],
    });
    const [job] = await t.queue(QueueName.Actions).getJobs(['waiting']);
    expect(job.data.action.url).toBe('http://127.0.0.1:9/ok/storage-example');
  });
});
