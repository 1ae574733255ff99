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

  it('should hold a slow target to its share, keep serving others, and take it again once a call leaves', () => {
    const sut = new TargetBulkhead(4);
    const first = sut.enter('http a', 0)!;
    sut.enter('http a', 10);
    sut.enter('http a', 20);

    expect(sut.enter('http a', 999)).toBeDefined(); // the oldest call is not slow yet: a busy worker, not a slow target
    expect(sut.enter('http a', 1_000)).toBeUndefined();
    expect(sut.enter('http b', 1_000)).toBeDefined();
    sut.leave(first);
    expect(sut.enter('http a', 1_009)).toBeDefined(); // the oldest now started at 10
    expect(sut.enter('http a', 1_010)).toBeUndefined();
  });

  it('should forget a target once its last call leaves, and ignore a ticket it does not hold', () => {
    const sut = new TargetBulkhead(1);
    const ticket = sut.enter('port', 0)!;

    expect(sut.enter('port', 5_000)).toBeUndefined();
    sut.leave(ticket);
    sut.leave(ticket);
    expect(sut.enter('port', 5_000)).toBeDefined();
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
