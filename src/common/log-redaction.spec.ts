import { CENSOR, loggableUrl, redactSecrets } from './log-redaction';

describe('redactSecrets', () => {
  const slackUrl = 'https://hooks.slack.com/services/T0/B0/secretpath';

  it.each([
    ['a top-level Slack URL', { webhookUrl: slackUrl, ruleId: 'r' }, { webhookUrl: CENSOR, ruleId: 'r' }],
    ['a nested Slack URL', { action: { type: 'slack', webhookUrl: slackUrl } }, { action: { type: 'slack', webhookUrl: CENSOR } }],
    ['credential headers, any case', { req: { headers: { Authorization: 'Bearer t', cookie: 'c', 'X-Port-Signature': 's', 'x-api-key': 'k', accept: '*/*' } } },
      { req: { headers: { Authorization: CENSOR, cookie: CENSOR, 'X-Port-Signature': CENSOR, 'x-api-key': CENSOR, accept: '*/*' } } }],
    ['Port credentials deep down', { port: { auth: { clientSecret: 'cs', token: { accessToken: 'at' } } } }, { port: { auth: { clientSecret: CENSOR, token: { accessToken: CENSOR } } } }],
    ['secrets inside arrays', { actions: [{ type: 'http' }, { type: 'slack', webhookUrl: slackUrl }] }, { actions: [{ type: 'http' }, { type: 'slack', webhookUrl: CENSOR }] }],
    ['an object with no secret', { eventId: 'evt_1', matched: ['a', 'b'], changes: 2 }, { eventId: 'evt_1', matched: ['a', 'b'], changes: 2 }],
    ['an absent secret (null or undefined) as it is', { webhookUrl: null, accessToken: undefined }, { webhookUrl: null, accessToken: undefined }],
  ])('should redact %s', (_name, input, expected) => {
    expect(redactSecrets(input)).toEqual(expected);
  });

  it('should not change the logged object', () => {
    const input = { action: { webhookUrl: slackUrl }, list: [{ accessToken: 'at' }] };
    const before = JSON.parse(JSON.stringify(input));
    redactSecrets(input);
    expect(input).toEqual(before);
  });

  it('should return the same object, copying nothing, when there is no secret', () => {
    const input = { eventId: 'evt_1', entity: { id: 'vm-1', properties: { free_storage: 3 } }, matched: ['a'] };
    const output = redactSecrets(input);
    expect(output).toBe(input);
    expect(output.entity).toBe(input.entity);
  });

  it('should leave values with toJSON as they are, and return an error with no secret as it is', () => {
    const err = new Error('boom');
    const at = new Date(0);
    const output = redactSecrets({ err, at });
    expect(output.err).toBe(err);
    expect(output.at).toBe(at);
  });

  it('should redact a secret-named property of an error in a copy that is still that error', () => {
    const err = Object.assign(new TypeError('boom'), { accessToken: 'at', statusCode: 401 });
    const output = redactSecrets({ err });
    expect(output.err).not.toBe(err);
    expect(output.err).toBeInstanceOf(TypeError);
    expect(output.err).toMatchObject({ message: 'boom', stack: err.stack, accessToken: CENSOR, statusCode: 401 });
    expect(err.accessToken).toBe('at');
  });

  it('should stop at a depth no line reaches, even on a cyclic object', () => {
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    expect(() => redactSecrets(cyclic)).not.toThrow();
  });
});

describe('loggableUrl', () => {
  it.each([
    ['no query', '/events/evt_1', '/events/evt_1'],
    ['a query with no credential', '/events?entity=svc&rule=r1&limit=5', '/events?entity=svc&rule=r1&limit=5'],
    ['a token', '/admin/queues/?token=adm1n-secret', `/admin/queues/?token=${encodeURIComponent(CENSOR)}`],
    ['credentials among other parameters', '/events?limit=5&access_token=a1&API_KEY=k2', `/events?limit=5&access_token=${encodeURIComponent(CENSOR)}&API_KEY=${encodeURIComponent(CENSOR)}`],
    ['a repeated credential', '/x?token=a&token=b', `/x?token=${encodeURIComponent(CENSOR)}`],
  ])('should log %s as %s', (_name, url, expected) => {
    const logged = loggableUrl(url);

    expect(logged).toBe(expected);
    expect(logged).not.toMatch(/adm1n-secret|a1|k2/);
  });
});
