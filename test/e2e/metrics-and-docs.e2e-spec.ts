import { MockTarget } from '../support/mock-target';
import { readSample } from '../support/port-samples';
import { startTestApp, TestApp, waitFor, writeRulesFile } from '../support/test-app';

const vmUpdate = readSample('kafka-changelog-entity-update-vm-free_storage.json') as Record<string, unknown>;

/** The value of one sample line of Prometheus text, e.g. metric('x_total{a="b"}'). */
function metric(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

describe('GET /metrics and /docs after known traffic', () => {
  const slack = new MockTarget();
  let t: TestApp;

  beforeAll(async () => {
    await slack.start();
    t = await startTestApp({
      SLACK_WEBHOOK_URL: slack.url('/services/T/B/metrics'),
      RULES_FILE: writeRulesFile(`
rules:
  - id: vm-storage-low
    blueprint: vm
    when:
      - crosses: properties.free_storage
        below: 1
    do:
      - slack: { text: "{{ .context.entity }} is almost full" }
`),
    });
  });
  afterAll(async () => {
    await t.close();
    await slack.stop();
  });

  it('should count received, duplicate and rejected events, matched rules, actions and latencies', async () => {
    const post = (payload: string, contentType = 'application/json') =>
      t.app.inject({ method: 'POST', url: '/webhooks/port', payload, headers: { 'content-type': contentType } });
    expect((await post(JSON.stringify(vmUpdate))).statusCode).toBe(202);
    expect((await post(JSON.stringify(vmUpdate))).statusCode).toBe(202);
    expect((await post('{"action": "UPDATE"}')).statusCode).toBe(400);
    expect((await post('action=UPDATE', 'text/plain')).statusCode).toBe(415);
    await waitFor(async () => slack.requests.length === 1 || undefined, 10_000, 'the Slack message');

    const text = await waitFor(async () => {
      const body = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
      return metric(body, 'reactor_actions_total{type="slack",outcome="succeeded"}') === 1 ? body : undefined;
    }, 5_000, 'the action to be counted');

    expect(metric(text, 'reactor_events_received_total{source="webhook",outcome="accepted"}')).toBe(1);
    expect(metric(text, 'reactor_events_received_total{source="webhook",outcome="duplicate"}')).toBe(1);
    expect(metric(text, 'reactor_events_received_total{source="webhook",outcome="rejected_invalid"}')).toBe(1);
    expect(metric(text, 'reactor_events_received_total{source="webhook",outcome="rejected_not_json"}')).toBe(1);
    expect(metric(text, 'reactor_rules_matched_total{rule="vm-storage-low"}')).toBe(1);
    expect(metric(text, 'reactor_ingest_duration_seconds_count')).toBe(2);
    expect(metric(text, 'reactor_receipt_to_dispatch_seconds_count{type="slack"}')).toBe(1);
    expect(metric(text, 'reactor_queue_jobs{queue="actions",state="waiting"}')).toBe(0);
    expect(metric(text, 'reactor_queue_jobs{queue="actions",state="failed"}')).toBe(0);
    expect(metric(text, 'reactor_queue_oldest_waiting_seconds{queue="actions"}')).toBe(0);
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('should serve the OpenAPI document of every route, with the webhook body described', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/docs/json' });

    expect(response.statusCode).toBe(200);
    const document = response.json();
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining(['/webhooks/port', '/health/live', '/health/ready', '/metrics', '/events', '/events/{eventId}', '/events/{eventId}/replay']),
    );
    expect(document.paths['/webhooks/port'].post.requestBody.content['application/json'].schema.$ref).toMatch(/PortChangeEventDto/);
    expect((await t.app.inject({ method: 'GET', url: '/docs' })).statusCode).toBe(200);
  });
});
