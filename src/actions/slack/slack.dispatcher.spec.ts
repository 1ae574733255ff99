import { MockTarget, status } from '../../../test/support/mock-target';
import { PermanentActionError, RateLimitedActionError, TransientActionError } from '../action-errors';
import type { DispatchContext } from '../action-dispatcher';
import { OutboundHttpClient } from '../http/outbound-http.client';
import { SlackDispatcher } from './slack.dispatcher';

const HOOK_PATH = '/services/T0001/B0002/XyZsecretPart';
const context: DispatchContext = { eventId: 'evt-1', ruleId: 'notify', actionKey: 'evt-1.notify.0' };

describe(SlackDispatcher.name, () => {
  let server: MockTarget;
  let client: OutboundHttpClient;
  let sut: SlackDispatcher;

  beforeEach(async () => {
    // Answers 200 `ok`, as Slack does, until a test says otherwise.
    server = await new MockTarget().start();
    client = new OutboundHttpClient({ allowedHosts: [`127.0.0.1:${server.port}`] });
    sut = new SlackDispatcher(client, { defaultWebhookUrl: server.url(HOOK_PATH), env: { TEAM_HOOK: server.url('/services/T9/B9/other') } });
  });

  afterEach(async () => {
    await client.onApplicationShutdown();
    await server.stop();
  });

  const failure = (promise: Promise<unknown>): Promise<Error> => promise.then(() => new Error('resolved'), (e: Error) => e);

  describe('dispatch', () => {
    it('should post the message to the default webhook when the action names none', async () => {
      const result = await sut.dispatch({ type: 'slack', text: 'hello', blocks: [{ type: 'divider' }], unfurl_links: false }, context);

      expect(server.requests[0]).toMatchObject({ method: 'POST', path: HOOK_PATH });
      expect(server.requests[0].body).toEqual({ text: 'hello', blocks: [{ type: 'divider' }], unfurl_links: false });
      expect(result).toEqual({ statusCode: 200, summary: `slack 127.0.0.1:${server.port}/services/*** -> 200` });
    });

    it.each([
      ['a number as its text', 12, '12'],
      ['an object as its JSON', { a: [1, 2] }, '{"a":[1,2]}'],
      ['a list as its JSON', ['platform'], '["platform"]'],
    ])('should send a text rendered as %s', async (_name, text, sent) => {
      await sut.dispatch({ type: 'slack', text: text as unknown as string }, context);

      expect(server.requests[0].body).toEqual({ text: sent });
    });

    it.each([
      ['null, with nothing else to send', null, 'has no text, blocks or attachments'],
    ])('should fail for good, sending nothing, when the text renders %s', async (_name, text, message) => {
      const error = await failure(sut.dispatch({ type: 'slack', text: text as unknown as string }, context));

      expect(error).toBeInstanceOf(PermanentActionError);
      expect(error.message).toContain(message);
      expect(server.requests).toHaveLength(0);
    });

    it('should post to the resolved webhookUrl when the action names one', async () => {
      await sut.dispatch({ type: 'slack', webhookUrl: '${TEAM_HOOK}', text: 'hello' }, context);

      expect(server.requests[0].path).toBe('/services/T9/B9/other');
    });

    it('should throw a permanent error naming Slack\'s code and not the URL when Slack answers 404 no_service', async () => {
      server.otherwise(status(404, 'no_service'));

      const error = await failure(sut.dispatch({ type: 'slack', text: 'hello' }, context));

      expect(error).toBeInstanceOf(PermanentActionError);
      expect(error.message).toBe(`slack 127.0.0.1:${server.port}/services/*** -> 404 no_service`);
      expect(error.message).not.toContain('XyZsecretPart');
    });

    it('should throw a permanent error, not record a success, when the webhook URL answers a redirect', async () => {
      server.otherwise(status(302, '', { location: 'https://hooks.slack.com/services/T0001/B0002/XyZsecretPart' }));

      const error = await failure(sut.dispatch({ type: 'slack', text: 'hello' }, context));

      expect(error).toBeInstanceOf(PermanentActionError);
      expect(error.message).toBe(`slack 127.0.0.1:${server.port}/services/*** -> 302: a redirect, so nothing was posted (Slack never redirects a webhook: check the URL)`);
      expect(error.message).not.toContain('XyZsecretPart');
    });

    it('should throw a rate-limit error honouring Retry-After when Slack answers 429', async () => {
      server.otherwise(status(429, 'rate_limited', { 'retry-after': '30' }));

      const error = await failure(sut.dispatch({ type: 'slack', text: 'hello' }, context));

      expect(error).toBeInstanceOf(RateLimitedActionError);
      expect((error as RateLimitedActionError).retryAfterMs).toBe(30_000);
    });

    it('should throw a transient error when Slack answers 500', async () => {
      server.otherwise(status(500, '<html>oops</html>'));

      await expect(sut.dispatch({ type: 'slack', text: 'hello' }, context)).rejects.toBeInstanceOf(TransientActionError);
    });

    it('should refuse a Slack host that the egress guard does not allow', async () => {
      const guarded = new SlackDispatcher(client, { defaultWebhookUrl: `http://127.0.0.1:${server.port + 1}${HOOK_PATH}`, env: {} });

      const error = await failure(guarded.dispatch({ type: 'slack', text: 'hello' }, context));

      expect(error).toBeInstanceOf(PermanentActionError);
      expect(error.message).not.toContain('XyZsecretPart');
      expect(server.requests).toHaveLength(0);
    });

    it('should throw a permanent error when no webhook is configured', async () => {
      const unconfigured = new SlackDispatcher(client, { env: {} });

      await expect(unconfigured.dispatch({ type: 'slack', text: 'hello' }, context)).rejects.toBeInstanceOf(PermanentActionError);
    });

    it('should throw a permanent error when the placeholder of the webhook is unresolved', async () => {
      const error = await failure(sut.dispatch({ type: 'slack', webhookUrl: '${MISSING_HOOK}', text: 'x' }, context));

      expect(error).toBeInstanceOf(PermanentActionError);
      expect(error.message).toContain('placeholder');
    });

    it('should throw a permanent error when the action has no message', async () => {
      await expect(sut.dispatch({ type: 'slack' }, context)).rejects.toBeInstanceOf(PermanentActionError);
      expect(server.requests).toHaveLength(0);
    });
  });
});
