import { closedPort, MockTarget } from '../support/mock-target';
import { readSample } from '../support/port-samples';
import { ServiceProcess } from '../support/service-process';
import { REDIS_URL, removeKeys, uniquePrefix, waitFor, writeRulesFile } from '../support/test-app';

const vm = readSample('kafka-changelog-entity-update-vm-free_storage.json') as Record<string, unknown>;
const ADMIN = 'admin-token-multi-process-0123456789';
const EVENTS = 60;

const vmEvent = (n: number) => ({ ...vm, context: { blueprint: 'vm', entity: `vm-${n}` }, trigger: { ...(vm.trigger as object), at: new Date(1_800_000_000_000 + n).toISOString() } });

describe('one api and two worker processes on one Redis', () => {
  jest.setTimeout(90_000);
  const slack = new MockTarget();
  const scaler = new MockTarget();
  const prefix = uniquePrefix();
  const api = new ServiceProcess();
  const workers = [new ServiceProcess(), new ServiceProcess()];
  let base = '';

  beforeAll(async () => {
    await Promise.all([slack.start(), scaler.start()]);
    const rulesFile = writeRulesFile(`
rules:
  - id: vm-storage
    blueprint: vm
    when:
      - changed: properties.free_storage
    do:
      - slack: { text: "{{ .context.entity }}" }
      - http: { url: "${scaler.url('/scale')}/{{ .context.entity }}", body: { replicas: 2 } }
`);
    const env = {
      REDIS_URL, QUEUE_PREFIX: prefix, RULES_FILE: rulesFile, LOG_LEVEL: 'info', ADMIN_TOKEN: ADMIN, HOST: '127.0.0.1',
      SLACK_WEBHOOK_URL: slack.url('/services/T/B/multi'), SLACK_MAX_PER_SECOND: '1000', HTTP_ACTION_ALLOWED_HOSTS: `127.0.0.1:${scaler.port}`,
    };
    const apiPort = await closedPort();
    base = `http://127.0.0.1:${apiPort}`;
    api.start({ ...env, ROLE: 'api', PORT: String(apiPort) });
    for (const worker of workers) worker.start({ ...env, ROLE: 'worker', PORT: String(await closedPort()) });
    await waitFor(async () => (await fetch(`${base}/health/ready`).catch(() => undefined))?.status === 200, 20_000, 'the api');
    await waitFor(async () => workers.every((w) => w.output.includes('listening on')), 20_000, 'both workers');
  });
  afterAll(async () => {
    for (const p of [api, ...workers]) p.kill();
    await Promise.all([slack.stop(), scaler.stop()]);
    await removeKeys(prefix);
  });

  const post = async (body: unknown) => {
    const response = await fetch(`${base}/webhooks/port`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    expect(response.status).toBe(202);
    return (await response.json()) as { eventId: string; duplicate: boolean };
  };

  it('should run every action exactly once, spread over both workers, with duplicates refused', async () => {
    const answers = await Promise.all(Array.from({ length: EVENTS }, (_, i) => post(vmEvent(i))));
    const again = await Promise.all(Array.from({ length: 10 }, (_, i) => post(vmEvent(i * 3))));

    expect(answers.every((a) => !a.duplicate)).toBe(true);
    expect(again.every((a) => a.duplicate)).toBe(true);
    await waitFor(async () => slack.requests.length >= EVENTS && scaler.requests.length >= EVENTS, 30_000, 'all actions');
    await new Promise((resolve) => setTimeout(resolve, 500)); // a late duplicate would show up now

    const texts = slack.requests.map((r) => (r.body as { text: string }).text);
    expect(new Set(texts).size).toBe(EVENTS);
    expect(texts).toHaveLength(EVENTS);
    const keys = scaler.requests.map((r) => r.headers['idempotency-key']);
    expect(new Set(keys).size).toBe(EVENTS);
    expect(keys).toHaveLength(EVENTS);
    expect(api.output).toContain('event evaluated');
    for (const worker of workers) expect(worker.output).toContain('action succeeded');

    const record = await fetch(`${base}/events/${answers[7].eventId}`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(await record.json()).toMatchObject({ status: 'succeeded', actions: [{ status: 'succeeded' }, { status: 'succeeded' }] });
  });
});
