import { signPortWebhook } from '../../src/ingest/webhook-signature';
import { readSample } from '../support/port-samples';
import { removeKeys, startTestApp, TestApp } from '../support/test-app';

const SECRET = 'port-client-secret-for-tests';
const body = JSON.stringify(readSample('kafka-changelog-entity-update-vm-free_storage.json'));
const now = () => String(Math.floor(Date.now() / 1000));

describe('POST /webhooks/port with WEBHOOK_SIGNATURE=required', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ ROLE: 'api', PORT_CLIENT_ID: 'client', PORT_CLIENT_SECRET: SECRET });
  });
  afterAll(() => t.close());
  beforeEach(() => removeKeys(t.config.queuePrefix));

  const post = (payload: string, headers: Record<string, string>) =>
    t.app.inject({ method: 'POST', url: '/webhooks/port', payload, headers: { 'content-type': 'application/json', ...headers } });
  const queuedCount = async () => (await t.recorded()).length;

  it('should accept a body signed by Port', async () => {
    const ts = now();
    const response = await post(body, { 'x-port-timestamp': ts, 'x-port-signature': signPortWebhook(SECRET, ts, body) });

    expect(response.statusCode).toBe(202);
    expect(await queuedCount()).toBe(1);
  });

  it('should accept a millisecond timestamp', async () => {
    const ts = String(Date.now());
    const response = await post(body, { 'x-port-timestamp': ts, 'x-port-signature': signPortWebhook(SECRET, ts, body) });

    expect(response.statusCode).toBe(202);
  });

  it('should accept a body a relay re-serialised after Port signed the compact form', async () => {
    const ts = now();
    const pretty = JSON.stringify(JSON.parse(body), null, 2);
    const response = await post(pretty, { 'x-port-timestamp': ts, 'x-port-signature': signPortWebhook(SECRET, ts, body) });

    expect(response.statusCode).toBe(202);
  });

  it.each([
    ['no signature', () => ({ 'x-port-timestamp': now() })],
    ['no timestamp', () => ({ 'x-port-signature': signPortWebhook(SECRET, now(), body) })],
    ['a signature made with another secret', () => { const ts = now(); return { 'x-port-timestamp': ts, 'x-port-signature': signPortWebhook('other', ts, body) }; }],
    ['a signature of another body', () => { const ts = now(); return { 'x-port-timestamp': ts, 'x-port-signature': signPortWebhook(SECRET, ts, body.replace('0.5', '0.6')) }; }],
    ['a timestamp 6 minutes old', () => { const ts = String(Math.floor(Date.now() / 1000) - 360); return { 'x-port-timestamp': ts, 'x-port-signature': signPortWebhook(SECRET, ts, body) }; }],
    ['garbage headers', () => ({ 'x-port-timestamp': 'soon', 'x-port-signature': 'v1,%%%' })],
  ])('should answer 401 for %s and queue nothing', async (_name, headers) => {
    const response = await post(body, headers());

    expect(response.statusCode).toBe(401);
    expect(response.json().message).toEqual(expect.any(String));
    expect(await queuedCount()).toBe(0);
  });

  it('should check the signature before validating the body', async () => {
    const response = await post('{"not": "an event"}', { 'x-port-timestamp': now(), 'x-port-signature': 'v1,AAAA' });

    expect(response.statusCode).toBe(401);
  });
});
