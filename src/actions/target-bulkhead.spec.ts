import type { RenderedAction } from '../rules/rule.types';
import { actionTarget, TargetBulkhead } from './target-bulkhead';

describe(TargetBulkhead.name, () => {
  it.each([
    [1, 1],
    [2, 1],
    [8, 6],
    [32, 24],
    [1000, 750],
  ])('should let one target hold %i slots -> %i', (concurrency, perTarget) => {
    expect(new TargetBulkhead(concurrency).perTarget).toBe(perTarget);
  });

  it('should hold a target to its share from its first call, keep serving others, and hand a leaving call\'s place to a waiting one', async () => {
    const sut = new TargetBulkhead(4, 60_000);
    const first = (await sut.enter('http a', 0))!;
    await sut.enter('http a', 10);
    await sut.enter('http a', 20);

    // Over the share while no call is slow: it waits (a hang's first second no longer takes every slot).
    let granted = false;
    const waiting = sut.enter('http a', 30).then((ticket) => ((granted = true), ticket));
    expect(await sut.enter('http b', 30)).toBeDefined();
    await new Promise((resolve) => setImmediate(resolve));
    expect(granted).toBe(false);
    sut.leave(first);
    expect(await waiting).toMatchObject({ target: 'http a' });
  });

  it('should turn a call over the share away at once when the target is slow, and after the wait when it is busy', async () => {
    const slow = new TargetBulkhead(4, 60_000);
    for (const at of [0, 10, 20]) await slow.enter('http a', at);
    await expect(slow.enter('http a', 1_000)).resolves.toBeUndefined(); // the oldest call has waited 1 s: no wait

    const busy = new TargetBulkhead(4, 20);
    const started = Date.now();
    const calls = [await busy.enter('http a'), await busy.enter('http a'), await busy.enter('http a')];
    await expect(busy.enter('http a')).resolves.toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(19);
    busy.leave(calls[0]); // nobody waits any more: the place stays free
    expect(await busy.enter('http a')).toBeDefined();
  });

  it('should hand places to waiting calls in the order they came', async () => {
    const sut = new TargetBulkhead(1, 60_000);
    const first = (await sut.enter('port'))!;
    const granted: string[] = [];
    const second = sut.enter('port').then((ticket) => (granted.push('second'), ticket!));
    const third = sut.enter('port').then((ticket) => (granted.push('third'), ticket!));
    sut.leave(first);
    sut.leave(await second);
    await third;
    expect(granted).toEqual(['second', 'third']);
  });

  it('should forget a target once its last call leaves, and ignore a ticket it does not hold', async () => {
    const sut = new TargetBulkhead(1);
    const ticket = (await sut.enter('port', 0))!;

    expect(await sut.enter('port', 5_000)).toBeUndefined();
    sut.leave(ticket);
    sut.leave(ticket);
    expect(await sut.enter('port', 5_000)).toBeDefined();
  });
});

describe(actionTarget.name, () => {
  const slack = (webhookUrl?: string): RenderedAction => ({ type: 'slack', webhookUrl, text: 'x' });
  const http = (url: string): RenderedAction => ({ type: 'http', method: 'POST', url });

  it.each<[string, RenderedAction, string | undefined, string]>([
    ['a Slack webhook by its host', slack('https://hooks.slack.com/services/T/B/secret'), undefined, 'slack hooks.slack.com'],
    ['Slack without a URL by the default', slack(), 'https://Hooks.Slack.com/services/T/B/x', 'slack hooks.slack.com'],
    ['an http call by host and port', http('http://Scaler.internal:8080/scale/vm-1?x=1'), undefined, 'http scaler.internal:8080'],
    ['a ${NAME} base URL by the variable', http('${SCALER_URL}/scale'), undefined, 'http ${scaler_url}'],
    ['a placeholder inside the URL', http('https://${SCALER_HOST}/scale'), undefined, 'http ${scaler_host}'],
    ['port by type', { type: 'port', properties: { locked: true } }, undefined, 'port'],
  ])('should name %s', (_what, action, defaultSlackUrl, expected) => {
    expect(actionTarget(action, defaultSlackUrl)).toBe(expected);
  });
});
