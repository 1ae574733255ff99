import { MockTarget, status, type Responder } from '../../../test/support/mock-target';
import type { HttpActionSpec } from '../../rules/rule.types';
import { PermanentActionError, TransientActionError } from '../action-errors';
import type { DispatchContext } from '../action-dispatcher';
import { HttpDispatcher } from './http.dispatcher';
import { OutboundHttpClient } from './outbound-http.client';

const TOKEN = 'tok-9f8e7d6c5b4a';
const context: DispatchContext = { eventId: 'evt-1', ruleId: 'scale-up', actionKey: 'evt-1.scale-up.0' };
// Echoes the request headers so a leak of them into our errors would show.
const echoHeaders = (code: number): Responder => (req, res) => status(code, JSON.stringify(req.headers))(req, res);

describe(HttpDispatcher.name, () => {
  let server: MockTarget;
  let client: OutboundHttpClient;
  let sut: HttpDispatcher;

  beforeEach(async () => {
    server = await new MockTarget().otherwise(echoHeaders(200)).start();
    client = new OutboundHttpClient({ allowedHosts: ['127.0.0.1'] });
    sut = new HttpDispatcher(client, { env: { SCALER_TOKEN: TOKEN } });
  });

  afterEach(async () => {
    await client.onApplicationShutdown();
    await server.stop();
  });

  const action = (overrides: Partial<HttpActionSpec> = {}): HttpActionSpec => ({
    type: 'http',
    method: 'post',
    url: server.url('/services/api/scale?key=${SCALER_TOKEN}'),
    headers: { Authorization: 'Bearer ${SCALER_TOKEN}' },
    body: { replicas: 3, reason: 'scale-up' },
    ...overrides,
  });

  describe('dispatch', () => {
    it('should send the resolved secret, the idempotency key and the JSON body when the target answers 200', async () => {
      const result = await sut.dispatch(action(), context);

      const [received] = server.requests;
      expect(received.method).toBe('POST');
      expect(received.path).toBe(`/services/api/scale?key=${TOKEN}`);
      expect(received.headers).toMatchObject({
        authorization: `Bearer ${TOKEN}`,
        'idempotency-key': 'evt-1.scale-up.0',
        'user-agent': 'changelog-reactor',
        'content-type': 'application/json',
      });
      expect(received.body).toEqual({ replicas: 3, reason: 'scale-up' });
      expect(result).toEqual({ statusCode: 200, summary: `POST 127.0.0.1:${server.port}/services/api/scale -> 200` });
    });

    it('should send a number rendered into a header as its text and leave out one rendered null', async () => {
      await sut.dispatch(action({ headers: { 'X-Count': 42 as unknown as string, 'X-Missing': null as unknown as string, 'X-Flag': true as unknown as string } }), context);

      expect(server.requests[0].headers).toMatchObject({ 'x-count': '42', 'x-flag': 'true' });
      expect(server.requests[0].headers).not.toHaveProperty('x-missing');
    });

    it('should fail for good, sending nothing, when a header renders an object', async () => {
      const error = await sut.dispatch(action({ headers: { 'X-Odd': { a: [1, 2] } as unknown as string } }), context).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(PermanentActionError);
      expect((error as Error).message).toBe('header X-Odd rendered an object, not text (render it with tojson for its JSON)');
      expect(server.requests).toHaveLength(0);
    });

    it.each([
      ['CJK text', '東京 API'],
      ['an emoji', 'Deploy 🚀'],
      ['a line break', 'a\nb'],
    ])('should fail for good, naming the header, when a header renders text a header cannot carry: %s', async (_name, value) => {
      const error = await sut.dispatch(action({ headers: { 'X-Entity-Title': value } }), context).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(PermanentActionError);
      expect((error as Error).message).toMatch(/^header X-Entity-Title rendered text an HTTP header cannot carry \(.*\): encode it, e.g. with @uri$/);
      expect(server.requests).toHaveLength(0);
    });

    it('should send a Latin-1 header as it is', async () => {
      await sut.dispatch(action({ headers: { 'X-Entity-Title': 'Zürich API' } }), context);

      expect(server.requests[0].headers['x-entity-title']).toBe(Buffer.from('Zürich API', 'latin1').toString('latin1'));
    });

    it('should keep the idempotency key the rule sets whatever its case', async () => {
      await sut.dispatch(action({ headers: { 'Idempotency-Key': 'mine' } }), context);

      expect(server.requests[0].headers['idempotency-key']).toBe('mine');
    });

    it('should send no content type when the action has no body', async () => {
      await sut.dispatch(action({ method: 'GET', body: undefined }), context);

      expect(server.requests[0].headers['content-type']).toBeUndefined();
    });

    it.each([
      ['301 to https', 301, { location: 'https://127.0.0.1/services/api/scale?key=x' }, 'redirects to https://127.0.0.1'],
      ['307 to another path', 307, { location: '/v2/scale?key=x' }, 'redirects to another path of the same host'],
      ['308 to another host', 308, { location: 'http://scaler.example:8080/private/token-abc' }, 'redirects to http://scaler.example:8080'],
      ['302 without a Location', 302, {}, 'redirects to no Location given'],
    ])('should fail for good on %s, naming only where it points', async (_name, code, headers, where) => {
      server.otherwise(status(code, '', headers));

      const error = (await sut.dispatch(action(), context).catch((e: unknown) => e)) as PermanentActionError;

      expect(error).toBeInstanceOf(PermanentActionError);
      expect(error.statusCode).toBe(code);
      expect(error.message).toBe(`POST 127.0.0.1:${server.port}/services/api/scale -> ${code}: ${where}, not followed, so the request was not handled (fix the action's URL)`);
      expect(server.requests).toHaveLength(1);
    });

    it('should take 303 See Other as done: the target handled the request and points at its result', async () => {
      server.otherwise(status(303, '', { location: '/results/42' }));

      await expect(sut.dispatch(action(), context)).resolves.toEqual({ statusCode: 303, summary: `POST 127.0.0.1:${server.port}/services/api/scale -> 303` });
    });

    it('should keep secrets out of the error when the target fails', async () => {
      server.otherwise(echoHeaders(500));

      const error = (await sut.dispatch(action(), context).catch((e: unknown) => e)) as Error;

      expect(error).toBeInstanceOf(TransientActionError);
      expect(error.message).toBe(`POST 127.0.0.1:${server.port}/services/api/scale -> 500 Internal Server Error`);
      expect(error.message).not.toContain(TOKEN);
    });

    it('should show a secret in the path as its placeholder in the summary', async () => {
      const result = await sut.dispatch(action({ url: server.url('/hooks/${SCALER_TOKEN}') }), context);

      expect(server.requests[0].path).toBe(`/hooks/${TOKEN}`);
      expect(result.summary).toBe(`POST 127.0.0.1:${server.port}/hooks/\${SCALER_TOKEN} -> 200`);
    });
  });
});
