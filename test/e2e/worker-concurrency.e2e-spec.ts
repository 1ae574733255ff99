import { deploymentUpdate } from '../factories/deployment-update';
import { hang, MockTarget } from '../support/mock-target';
import { startTestApp, TestApp, waitFor, writeRulesFile } from '../support/test-app';

// More than the 32 actions a worker used to run at once, whatever WORKER_CONCURRENCY said.
const HANGING = 40;

describe('WORKER_CONCURRENCY: how many actions a worker runs at once', () => {
  jest.setTimeout(30_000);
  const slack = new MockTarget();
  const scaler = new MockTarget().otherwise(hang);
  let t: TestApp;

  beforeAll(async () => {
    await Promise.all([slack.start(), scaler.start()]);
    t = await startTestApp({
      RULES_FILE: writeRulesFile(`
rules:
  - id: scale-on-memory
    blueprint: deploymentConfig
    when:
      - changed: properties.memoryUtil
    do:
      - http: { url: "${scaler.url('/scale')}", timeoutMs: 8000 }
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
      WORKER_CONCURRENCY: '64',
    });
  });
  afterAll(async () => {
    await scaler.stop(); // the hanging calls end now, so the worker can close
    await t.close();
    await slack.stop();
  });

  it('should deliver a Slack message at once while 40 calls to a hanging scaler wait for their timeout', async () => {
    const started = Date.now();
    for (let i = 0; i < HANGING; i += 1) {
      const response = await t.app.inject({ method: 'POST', url: '/webhooks/port', payload: deploymentUpdate({ memoryUtil: 50 + i }, new Date(started + i).toISOString()) });
      expect(response.statusCode).toBe(202);
    }
    // All 40 in flight together: with 32 slots the last 8 would wait for the first timeouts (8 s).
    await waitFor(async () => scaler.requests.length >= HANGING, 5_000, `${HANGING} scaler calls in flight at once`);

    const response = await t.app.inject({ method: 'POST', url: '/webhooks/port', payload: deploymentUpdate({ healthStatus: 'Degraded' }) });
    expect(response.statusCode).toBe(202);
    await waitFor(async () => slack.requests.length > 0, 5_000, 'the Slack message');

    expect(slack.requests[0].body).toEqual({ text: 'notification-service-prod is Degraded' });
    expect(Date.now() - started).toBeLessThan(8_000); // no slot was freed by a timeout first
  });
});
