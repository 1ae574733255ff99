import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { EventRecord } from '../../src/events/event-record';
import { signPortWebhook } from '../../src/ingest/webhook-signature';
import { closedPort, MockTarget, status } from '../support/mock-target';
import { deploymentUpdate } from '../factories/deployment-update';
import { MAIN, ServiceProcess } from '../support/service-process';
import { REDIS_URL, removeKeys, uniquePrefix, waitFor, writeRulesFile } from '../support/test-app';

const distinct = (label: string) => `${label}-${randomBytes(8).toString('hex')}`;

// Every value here is one an operator would call a secret; none may reach a log line or an event record.
const CLIENT_SECRET = distinct('client-secret');
const ADMIN_TOKEN = distinct('admin-token');
const SCALER_TOKEN = distinct('scaler-token');
const PORT_ACCESS_TOKEN = distinct('port-access-token');
const SLACK_SEGMENT = distinct('slackpathsecret');
const OPS_SLACK_SEGMENT = distinct('opsslackpathsecret');

function rules(scaler: MockTarget): string {
  return writeRulesFile(`
rules:
  - id: health-to-slack
    blueprint: deploymentConfig
    when:
      - changed: properties.healthStatus
    do:
      - slack:
          text: "{{ .entity.title }} is {{ .diff.after.properties.healthStatus }}"
  - id: lock-crashed
    blueprint: deploymentConfig
    when:
      - changed: properties.healthStatus
        to: Crashed
    do:
      - port:
          properties: { locked: true }
  - id: cpu-scale-up
    blueprint: deploymentConfig
    when:
      - crosses: properties.cpuUtil
        above: 80
    do:
      - http:
          url: "${scaler.url('/scale')}/{{ .context.entity }}"
          headers: { Authorization: "Bearer \${SCALER_TOKEN}" }
          body: { replicas: 3 }
  - id: memory-to-ops-slack
    blueprint: deploymentConfig
    when:
      - changed: properties.memoryUtil
    do:
      - slack:
          webhookUrl: "\${OPS_SLACK_WEBHOOK_URL}"
          text: "memory of {{ .context.entity }} is {{ .diff.after.properties.memoryUtil }}"
`);
}

describe('secrets stay out of logs and event records (built service, LOG_LEVEL=trace)', () => {
  jest.setTimeout(60_000);

  const slack = new MockTarget();
  const opsSlack = new MockTarget();
  const scaler = new MockTarget();
  const portApi = new MockTarget();
  const service = new ServiceProcess();
  const prefix = uniquePrefix();
  let base = '';
  let slackUrl = '';
  let opsSlackUrl = '';
  let targetsStarted = false;

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` before this test (CI builds before npm test)`);
    await Promise.all([slack.start(), opsSlack.start(), scaler.start(), portApi.start()]);
    targetsStarted = true;
    opsSlack.otherwise(status(404, 'no_service'));
    scaler.script(status(500, 'scaler is busy'));
    portApi.otherwise((req, res) => {
      const body = req.path === '/v1/auth/access_token' ? { accessToken: PORT_ACCESS_TOKEN, expiresIn: 3600, tokenType: 'Bearer' } : { ok: true };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    slackUrl = slack.url(`/services/T0000/B0000/${SLACK_SEGMENT}`);
    opsSlackUrl = opsSlack.url(`/services/T0001/B0001/${OPS_SLACK_SEGMENT}`);
    const port = await closedPort();
    base = `http://127.0.0.1:${port}`;
    service.start({
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      PORT: String(port),
      HOST: '127.0.0.1',
      ROLE: 'all',
      LOG_LEVEL: 'trace',
      RULES_FILE: rules(scaler),
      PORT_CLIENT_ID: 'reactor-client',
      PORT_CLIENT_SECRET: CLIENT_SECRET,
      PORT_API_URL: portApi.url('/v1'),
      WEBHOOK_SIGNATURE: 'required',
      ADMIN_TOKEN,
      SLACK_WEBHOOK_URL: slackUrl,
      OPS_SLACK_WEBHOOK_URL: opsSlackUrl,
      SCALER_TOKEN,
      // The ops Slack is not SLACK_WEBHOOK_URL's host, so it has to be listed like any other private target.
      HTTP_ACTION_ALLOWED_HOSTS: `127.0.0.1:${scaler.port},127.0.0.1:${opsSlack.port}`,
      ACTION_ATTEMPTS: '3',
      ACTION_RETRY_BASE_MS: '100',
    });
    await waitFor(async () => {
      if (!service.running) throw new Error(`the service exited at start:\n${service.output}`);
      return (await fetch(`${base}/health/ready`).catch(() => undefined))?.status === 200;
    }, 20_000, 'the service to be ready');
  });

  afterAll(async () => {
    service.kill();
    await removeKeys(prefix);
    // The targets were started only if dist/main.js exists (see beforeAll).
    if (targetsStarted) await Promise.all([slack.stop(), opsSlack.stop(), scaler.stop(), portApi.stop()]);
  });

  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${base}/webhooks/port`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  const signed = (event: unknown) => {
    const body = JSON.stringify(event);
    const ts = String(Math.floor(Date.now() / 1000));
    return post(body, { 'x-port-timestamp': ts, 'x-port-signature': signPortWebhook(CLIENT_SECRET, ts, body) });
  };
  const send = async (event: unknown) => {
    const response = await signed(event);
    expect(response.status).toBe(202);
    return ((await response.json()) as { eventId: string }).eventId;
  };
  const admin = (path: string) => fetch(`${base}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const settled = (eventId: string) =>
    waitFor(async () => {
      const response = await admin(`/events/${eventId}`);
      const record = response.status === 200 ? ((await response.json()) as EventRecord) : undefined;
      return record && ['succeeded', 'failed', 'no-match'].includes(record.status) ? record : undefined;
    }, 20_000, `event ${eventId} to settle`);

  it('should log the work, including failures, but no secret, and shut down cleanly on SIGTERM', async () => {
    const healthId = await send(deploymentUpdate({ healthStatus: 'Crashed' }));
    const scaleId = await send(deploymentUpdate({ cpuUtil: 91 }));
    const opsId = await send(deploymentUpdate({ memoryUtil: 97 }));
    const forged = JSON.stringify(deploymentUpdate({ cpuUtil: 92 }));
    const ts = String(Math.floor(Date.now() / 1000));
    expect((await post(forged, { 'x-port-timestamp': ts, 'x-port-signature': signPortWebhook(`${CLIENT_SECRET}-not`, ts, forged) })).status).toBe(401);
    expect((await post(JSON.stringify(deploymentUpdate({ cpuUtil: 93 })))).status).toBe(401);
    expect((await fetch(`${base}/events`)).status).toBe(401);

    const records = await Promise.all([healthId, scaleId, opsId].map(settled));
    const listing = await (await admin('/events?limit=10')).text();

    // The actions really took the success, retry and permanent-failure paths.
    expect(records.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'failed']);
    expect(records[1].actions).toEqual([expect.objectContaining({ type: 'http', status: 'succeeded', attempts: 2 })]);
    expect(records[2].actions).toEqual([expect.objectContaining({ type: 'slack', status: 'failed', attempts: 1, lastError: expect.objectContaining({ statusCode: 404 }) })]);
    expect(slack.requests).toHaveLength(1);
    expect(opsSlack.requests).toHaveLength(1);
    expect(scaler.requests.map((r) => r.headers.authorization)).toEqual([`Bearer ${SCALER_TOKEN}`, `Bearer ${SCALER_TOKEN}`]);
    expect(portApi.requests.find((r) => r.method === 'PATCH')?.headers.authorization).toBe(`Bearer ${PORT_ACCESS_TOKEN}`);

    const exit = await service.terminate(10_000);
    const log = service.output;

    const secrets = {
      CLIENT_SECRET, ADMIN_TOKEN, SCALER_TOKEN, PORT_ACCESS_TOKEN, SLACK_SEGMENT, OPS_SLACK_SEGMENT,
      SLACK_WEBHOOK_URL: slackUrl, OPS_SLACK_WEBHOOK_URL: opsSlackUrl,
    };
    const seen = (text: string) => Object.entries(secrets).filter(([, value]) => text.includes(value)).map(([name]) => name);
    expect({ log: seen(log), records: seen(JSON.stringify(records)), listing: seen(listing) }).toEqual({ log: [], records: [], listing: [] });

    // So a silent logger cannot pass: the log names each event and says what went wrong with its actions.
    const linesOf = (eventId: string) => log.split('\n').filter((line) => line.includes(eventId)).join('\n');
    expect(linesOf(healthId)).toMatch(/action succeeded/);
    expect(linesOf(scaleId)).toMatch(/action will retry: .*500/);
    expect(linesOf(opsId)).toMatch(/action failed: .*404/);
    expect(exit).toEqual({ code: 0, signal: null });
  });
});
