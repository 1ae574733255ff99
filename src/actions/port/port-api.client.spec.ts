import { startFakePortApi, type FakePortApi } from '../../../test/support/fake-port-api';
import { PermanentActionError } from '../action-errors';
import { PortApiClient } from './port-api.client';

describe(PortApiClient.name, () => {
  let port: FakePortApi;
  let sut: PortApiClient;
  let now: number;

  beforeEach(async () => {
    now = 1_000_000;
    port = await startFakePortApi(3600);
    sut = new PortApiClient({ baseUrl: port.baseUrl, clientId: 'cid', clientSecret: 'csecret', now: () => now });
  });

  afterEach(async () => {
    await sut.onApplicationShutdown();
    await port.server.stop();
  });

  describe('getToken', () => {
    it('should post the credentials to /auth/access_token', async () => {
      await expect(sut.getToken()).resolves.toBe('tok-1');

      const [request] = port.tokenRequests();
      expect(request.method).toBe('POST');
      expect(request.body).toEqual({ clientId: 'cid', clientSecret: 'csecret' });
    });

    it('should share one token request when the first callers arrive together', async () => {
      port.tokenDelayMs = 50;

      const tokens = await Promise.all([sut.getToken(), sut.getToken(), sut.getToken()]);

      expect(tokens).toEqual(['tok-1', 'tok-1', 'tok-1']);
      expect(port.tokenRequests()).toHaveLength(1);
    });

    it('should fetch a new token when the cached one is within a minute of expiry', async () => {
      await sut.getToken();
      now += 3600_000 - 61_000;
      await expect(sut.getToken()).resolves.toBe('tok-1');

      now += 1_000;

      await expect(sut.getToken()).resolves.toBe('tok-2');
      expect(port.tokenRequests()).toHaveLength(2);
    });

    it('should throw a permanent error without calling Port when credentials are missing', async () => {
      const anonymous = new PortApiClient({ baseUrl: port.baseUrl });

      await expect(anonymous.getToken()).rejects.toBeInstanceOf(PermanentActionError);
      expect(port.server.requests).toHaveLength(0);
      await anonymous.onApplicationShutdown();
    });
  });

  describe('patchEntity', () => {
    it('should send the exact PATCH with url-encoded ids and the bearer token', async () => {
      await sut.patchEntity('vm', 'storage example/1', { properties: { locked: true }, title: 'Locked' });

      const [request] = port.apiRequests();
      expect(request.method).toBe('PATCH');
      expect(request.path).toBe('/v1/blueprints/vm/entities/storage%20example%2F1');
      expect(request.headers.authorization).toBe('Bearer tok-1');
      expect(request.body).toEqual({ properties: { locked: true }, title: 'Locked' });
    });

    it('should fetch the token once for three patches', async () => {
      for (const id of ['a', 'b', 'c']) await sut.patchEntity('vm', id, { properties: { n: 1 } });

      expect(port.tokenRequests()).toHaveLength(1);
      expect(port.apiRequests()).toHaveLength(3);
    });

    it('should refresh the token and retry once when Port answers 401', async () => {
      await sut.getToken();
      port.revoked.add('tok-1');

      await expect(sut.patchEntity('vm', 'a', { icon: 'Lock' })).resolves.toMatchObject({ statusCode: 200 });

      expect(port.tokenRequests()).toHaveLength(2);
      expect(port.apiRequests().map((req) => req.headers.authorization)).toEqual(['Bearer tok-1', 'Bearer tok-2']);
    });

    it('should give up with a permanent error when the fresh token is refused too', async () => {
      port.revoked.add('tok-1').add('tok-2');

      const error = (await sut.patchEntity('vm', 'a', { icon: 'Lock' }).catch((e: unknown) => e)) as PermanentActionError;

      expect(error).toBeInstanceOf(PermanentActionError);
      expect(error.message).toBe(`PATCH 127.0.0.1:${port.server.port}/v1/blueprints/vm/entities/a -> 401 unauthorized`);
      expect(port.apiRequests()).toHaveLength(2);
    });
  });
});
