import { closedPort, hang, MockTarget, status } from '../../../test/support/mock-target';
import { PermanentActionError, RateLimitedActionError, TransientActionError } from '../action-errors';
import type { DnsLookup } from './egress-guard';
import { OutboundHttpClient } from './outbound-http.client';

describe(OutboundHttpClient.name, () => {
  let server: MockTarget;
  let sut: OutboundHttpClient;

  beforeEach(async () => {
    // Answers 200 `ok` until a test says otherwise.
    server = await new MockTarget().start();
    sut = new OutboundHttpClient({ allowedHosts: ['127.0.0.1'] });
  });

  afterEach(async () => {
    await sut.onApplicationShutdown();
    await server.stop();
  });

  describe('request', () => {
    it('should send the JSON body and return the status when the target answers 2xx', async () => {
      const response = await sut.request({ method: 'post', url: server.url('/hook'), body: { a: 1 } });

      expect(response).toMatchObject({ statusCode: 200, body: 'ok' });
      expect(server.requests[0]).toMatchObject({ method: 'POST', path: '/hook', rawBody: '{"a":1}' });
      expect(server.requests[0].headers['content-type']).toBe('application/json');
    });

    it('should not follow a redirect: the 3xx goes to the dispatcher, which decides', async () => {
      server.otherwise(status(302, '', { location: 'http://169.254.169.254/' }));

      await expect(sut.request({ method: 'GET', url: server.url() })).resolves.toMatchObject({ statusCode: 302 });
      expect(server.requests).toHaveLength(1);
    });

    it('should throw a transient error when the target answers 5xx', async () => {
      server.otherwise(status(503));

      await expect(sut.request({ method: 'POST', url: server.url() })).rejects.toEqual(
        expect.objectContaining({ constructor: TransientActionError, statusCode: 503 }),
      );
    });

    it('should throw a rate-limit error of Retry-After seconds when the target answers 429', async () => {
      server.otherwise(status(429, '', { 'retry-after': '2' }));

      const error = await sut.request({ method: 'POST', url: server.url() }).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(RateLimitedActionError);
      expect((error as RateLimitedActionError).retryAfterMs).toBe(2000);
    });

    it('should read an HTTP date when Retry-After is a date', async () => {
      server.otherwise(status(429, '', { 'retry-after': new Date(Date.now() + 5000).toUTCString() }));

      const error = (await sut.request({ method: 'POST', url: server.url() }).catch((e: unknown) => e)) as RateLimitedActionError;

      expect(error).toBeInstanceOf(RateLimitedActionError);
      expect(error.retryAfterMs).toBeGreaterThan(3000);
      expect(error.retryAfterMs).toBeLessThanOrEqual(5000);
    });

    it('should default to 1 s when a 429 has no Retry-After', async () => {
      server.otherwise(status(429));

      await expect(sut.request({ method: 'POST', url: server.url() })).rejects.toMatchObject({ retryAfterMs: 1000 });
    });

    it('should throw a permanent error without the response body when the target answers 4xx', async () => {
      server.otherwise(status(400, 'bad token s3cr3t-value'));

      const error = (await sut.request({ method: 'POST', url: server.url('/x?token=q') }).catch((e: unknown) => e)) as Error;

      expect(error).toBeInstanceOf(PermanentActionError);
      expect(error.message).toBe(`POST 127.0.0.1:${server.port}/x -> 400 Bad Request`);
    });

    it('should throw a transient error when the target does not answer in time', async () => {
      server.otherwise(hang);

      const error = (await sut.request({ method: 'POST', url: server.url(), timeoutMs: 200 }).catch((e: unknown) => e)) as Error;

      expect(error).toBeInstanceOf(TransientActionError);
      expect(error.message).toContain('timed out');
    });

    it('should give back at most the first 16 KiB of a large answer', async () => {
      server.otherwise(status(200, 'x'.repeat(1024 * 1024)));

      const response = await sut.request({ method: 'GET', url: server.url() });

      expect(response.body).toBe('x'.repeat(16 * 1024));
    });

    it('should time out on a target that sends its headers but never ends the body', async () => {
      server.otherwise((_req, res) => { res.writeHead(200, { 'content-type': 'text/plain' }); res.write('partial'); });

      const started = Date.now();
      const error = (await sut.request({ method: 'GET', url: server.url(), timeoutMs: 200 }).catch((e: unknown) => e)) as Error;

      expect(error).toBeInstanceOf(TransientActionError);
      expect(error.message).toContain('timed out');
      expect(Date.now() - started).toBeLessThan(5_000);
    });

    it('should cut a target that keeps trickling its body once the deadline has passed', async () => {
      let closed = false;
      server.otherwise((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        const drip = setInterval(() => res.write('x'), 20);
        res.on('close', () => {
          clearInterval(drip);
          closed = true;
        });
      });

      const error = (await sut.request({ method: 'GET', url: server.url(), timeoutMs: 200 }).catch((e: unknown) => e)) as Error;

      expect(error.message).toContain('timed out');
      // Each chunk comes well within undici's idle timeout: only the deadline can end this call.
      for (let waited = 0; !closed && waited < 2_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(closed).toBe(true);
    });

    // The connection (here its name lookup) takes longer than the call may. Without a connect timeout
    // within the deadline, undici would send the request once connected, after the action was
    // recorded as timed out and queued for its retry. Above 1 s undici's connect timer ticks every
    // ~0.5 s: a 1.5 s connect timeout could fire at about 2 s, after a lookup that took 1.7 s.
    it.each([
      { when: 'its deadline passed while it was still connecting', timeoutMs: 150, lookupMs: 600 },
      { when: 'its deadline is over a second, which undici times coarsely', timeoutMs: 1_600, lookupMs: 1_700 },
    ])('should never send a call late when $when', async ({ timeoutMs, lookupMs }) => {
      const slowLookup: DnsLookup = () => new Promise((resolve) => setTimeout(() => resolve([{ address: '127.0.0.1', family: 4 }]), lookupMs));
      const slow = new OutboundHttpClient({ allowedHosts: [`slow.test:${server.port}`], lookup: slowLookup });

      const error = (await slow.request({ method: 'POST', url: `http://slow.test:${server.port}/`, timeoutMs }).catch((e: unknown) => e)) as Error;
      await new Promise((resolve) => setTimeout(resolve, lookupMs - timeoutMs + 900));

      expect(error).toBeInstanceOf(TransientActionError);
      expect(server.requests).toHaveLength(0);
      await slow.onApplicationShutdown();
    });

    it('should still abort at once on the caller\'s signal', async () => {
      server.otherwise(hang);
      const caller = new AbortController();
      const reason = new Error('reconcile stopped');

      const call = sut.request({ method: 'GET', url: server.url(), signal: caller.signal });
      caller.abort(reason);

      await expect(call).rejects.toBe(reason);
    });

    it('should throw a transient error when the connection is refused', async () => {
      const port = await closedPort();

      await expect(sut.request({ method: 'POST', url: `http://127.0.0.1:${port}/` })).rejects.toEqual(
        expect.objectContaining({ constructor: TransientActionError, message: expect.stringContaining('ECONNREFUSED') }),
      );
    });

    it('should throw a permanent error without the header value when a header is malformed', async () => {
      const error = (await sut.request({ method: 'GET', url: server.url(), headers: { 'x-token': 'abc\r\ndef' } }).catch((e: unknown) => e)) as Error;

      expect(error).toBeInstanceOf(PermanentActionError);
      expect(error.message).not.toContain('abc');
    });

    it('should throw a permanent error when the URL is not http(s)', async () => {
      await expect(sut.request({ method: 'GET', url: 'file:///etc/passwd' })).rejects.toBeInstanceOf(PermanentActionError);
    });
  });

  describe('egress guard', () => {
    const resolvingTo = (address: string): jest.MockedFunction<DnsLookup> => jest.fn<ReturnType<DnsLookup>, Parameters<DnsLookup>>(async () => [{ address, family: 4 }]);

    it('should refuse loopback when no allow-list is set', async () => {
      const open = new OutboundHttpClient({ allowedHosts: [] });

      await expect(open.request({ method: 'POST', url: server.url('/x?k=v') })).rejects.toEqual(
        expect.objectContaining({
          constructor: PermanentActionError,
          message: `POST 127.0.0.1:${server.port}/x refused by egress guard: 127.0.0.1 is not a public address; list the host in HTTP_ACTION_ALLOWED_HOSTS to allow it`,
        }),
      );
      expect(server.requests).toHaveLength(0);
      await open.onApplicationShutdown();
    });

    it('should refuse a name that resolves to a private address', async () => {
      const lookup = resolvingTo('10.0.0.5');
      const open = new OutboundHttpClient({ allowedHosts: [], lookup });

      const error = (await open.request({ method: 'POST', url: 'http://internal.example/x' }).catch((e: unknown) => e)) as Error;

      expect(error).toBeInstanceOf(PermanentActionError);
      expect(error.message).toContain('internal.example resolves to 10.0.0.5');
      expect(lookup).toHaveBeenCalledWith('internal.example');
      await open.onApplicationShutdown();
    });

    it('should refuse an IPv4-mapped IPv6 loopback literal', async () => {
      const open = new OutboundHttpClient({ allowedHosts: [] });

      await expect(open.request({ method: 'GET', url: 'http://[::ffff:127.0.0.1]/' })).rejects.toBeInstanceOf(PermanentActionError);
      await open.onApplicationShutdown();
    });

    it('should refuse an unlisted public host when an allow-list is set', async () => {
      const lookup = resolvingTo('93.184.216.34');
      const listed = new OutboundHttpClient({ allowedHosts: ['127.0.0.1'], lookup });

      await expect(listed.request({ method: 'GET', url: 'https://example.com/' })).rejects.toBeInstanceOf(PermanentActionError);
      expect(lookup).not.toHaveBeenCalled();
      await listed.onApplicationShutdown();
    });

    it('should refuse a listed host on another port when the entry names a port', async () => {
      const listed = new OutboundHttpClient({ allowedHosts: [`127.0.0.1:${server.port + 1}`] });

      await expect(listed.request({ method: 'GET', url: server.url() })).rejects.toBeInstanceOf(PermanentActionError);
      await listed.onApplicationShutdown();
    });

    it('should connect to the address it looked up when a listed name is called', async () => {
      const lookup = resolvingTo('127.0.0.1');
      const listed = new OutboundHttpClient({ allowedHosts: [`scaler.test:${server.port}`], lookup });

      await expect(listed.request({ method: 'GET', url: `http://scaler.test:${server.port}/` })).resolves.toMatchObject({ statusCode: 200 });
      expect(lookup).toHaveBeenCalledTimes(1);
      expect(server.requests[0].headers.host).toBe(`scaler.test:${server.port}`);
      await listed.onApplicationShutdown();
    });
  });
});
