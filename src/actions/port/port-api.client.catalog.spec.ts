import { fakePortCatalog, type FakePortCatalog } from '../../../test/support/fake-port-catalog';
import { MockTarget, status } from '../../../test/support/mock-target';
import { PermanentActionError, RateLimitedActionError } from '../action-errors';
import { PortApiClient } from './port-api.client';

const entity = (n: number) => ({ identifier: `svc-${n}`, title: `Service ${n}`, properties: { description: 'x'.repeat(200), n } });

describe(`${PortApiClient.name} (catalog reads)`, () => {
  let catalog: FakePortCatalog;
  let port: MockTarget;
  let sut: PortApiClient;

  const apiRequests = () => port.requests.filter((req) => req.path !== '/v1/auth/access_token');

  beforeEach(async () => {
    catalog = fakePortCatalog({ service: Array.from({ length: 5 }, (_, i) => entity(i)) });
    port = await new MockTarget().otherwise(catalog.responder).start();
    sut = new PortApiClient({ baseUrl: port.url('/v1'), clientId: 'cid', clientSecret: 'csecret' });
  });

  afterEach(async () => {
    await sut.onApplicationShutdown();
    await port.stop();
  });

  describe('searchEntities', () => {
    it('should POST limit (and no from) to the blueprint search route with the bearer token', async () => {
      const page = await sut.searchEntities('service', { limit: 500 });

      expect(page.entities.map((e) => e.identifier)).toEqual(['svc-0', 'svc-1', 'svc-2', 'svc-3', 'svc-4']);
      expect(page.next).toBeUndefined();
      const [request] = apiRequests();
      expect(request).toMatchObject({ method: 'POST', path: '/v1/blueprints/service/entities/search', body: { limit: 500 } });
      expect(request.headers.authorization).toBe('Bearer tok-1');
    });

    it('should return the next cursor and send it back as from', async () => {
      catalog.pageSize = 2;

      const first = await sut.searchEntities('service', { limit: 500 });
      const second = await sut.searchEntities('service', { limit: 500, from: first.next });

      expect(first.next).toEqual(expect.any(String));
      expect(second.entities.map((e) => e.identifier)).toEqual(['svc-2', 'svc-3']);
      expect(apiRequests()[1].body).toEqual({ limit: 500, from: first.next });
    });

    it('should read a page larger than the 16 KiB cap of action calls', async () => {
      catalog.entities.service = Array.from({ length: 500 }, (_, i) => entity(i));

      const page = await sut.searchEntities('service', { limit: 500 });

      expect(page.entities).toHaveLength(500);
    });

    it('should refresh the token once and retry when the listing answers 401', async () => {
      await sut.getToken();
      catalog.revoked.add('tok-1');

      await expect(sut.searchEntities('service', { limit: 500 })).resolves.toMatchObject({ entities: expect.any(Array) });

      expect(apiRequests().map((req) => req.headers.authorization)).toEqual(['Bearer tok-1', 'Bearer tok-2']);
    });

    it('should throw a RateLimitedActionError with the Retry-After when Port answers 429', async () => {
      catalog.faults.push(status(429, '{"ok":false,"error":"too_many_requests"}', { 'retry-after': '7' }));

      const error = (await sut.searchEntities('service', { limit: 500 }).catch((e: unknown) => e)) as RateLimitedActionError;

      expect(error).toBeInstanceOf(RateLimitedActionError);
      expect(error.retryAfterMs).toBe(7_000);
    });

    it('should reject with the abort reason when the signal aborts', async () => {
      catalog.searchDelaysMs.push(2_000);
      const controller = new AbortController();
      const reason = new Error('newer run');

      const pending = sut.searchEntities('service', { limit: 500, signal: controller.signal });
      setTimeout(() => controller.abort(reason), 50);

      await expect(pending).rejects.toBe(reason);
    });

    it('should throw a permanent 404 error for an unknown blueprint', async () => {
      const error = (await sut.searchEntities('nope', { limit: 500 }).catch((e: unknown) => e)) as PermanentActionError;

      expect(error).toBeInstanceOf(PermanentActionError);
      expect(error.statusCode).toBe(404);
      expect(error.message).toBe(`POST 127.0.0.1:${port.port}/v1/blueprints/nope/entities/search -> 404 not_found`);
    });
  });

  describe('getBlueprint / patchBlueprint', () => {
    it('should read the blueprint and PATCH exactly the given body', async () => {
      await expect(sut.getBlueprint('service')).resolves.toEqual({ identifier: 'service', title: 'service' });

      await sut.patchBlueprint('service', { changelogDestination: { type: 'WEBHOOK', url: 'https://r.example.com/webhooks/port' } });

      const patch = apiRequests()[1];
      expect(patch).toMatchObject({ method: 'PATCH', path: '/v1/blueprints/service' });
      expect(patch.body).toEqual({ changelogDestination: { type: 'WEBHOOK', url: 'https://r.example.com/webhooks/port' } });
      await expect(sut.getBlueprint('service')).resolves.toMatchObject({ changelogDestination: { type: 'WEBHOOK' } });
    });
  });
});
