import { ActionRecord, ActionStatus, eventStatus, EventStatus } from './event-record';

function action(replay: number, status: ActionStatus, actionIndex = 0): ActionRecord {
  return { key: `${replay}.r.${actionIndex}`, ruleId: 'r', actionIndex, type: 'slack', replay, status, attempts: 1, queuedAt: '2031-01-01T00:00:00.000Z', updatedAt: '2031-01-01T00:00:00.000Z' };
}

describe(eventStatus.name, () => {
  const evaluatedAt = '2031-01-01T00:00:00.000Z';
  it.each<[string, ActionRecord[], EventStatus]>([
    ['no action queued', [], 'no-match'],
    ['every action succeeded', [action(0, 'succeeded'), action(0, 'succeeded', 1)], 'succeeded'],
    ['one action failed', [action(0, 'succeeded'), action(0, 'failed', 1)], 'failed'],
    ['one action still queued', [action(0, 'succeeded'), action(0, 'queued', 1)], 'dispatching'],
    ['a failed event replayed successfully', [action(0, 'failed'), action(1, 'succeeded')], 'succeeded'],
    ['a failed event while its replay runs', [action(0, 'failed'), action(1, 'queued'), action(1, 'retrying', 1)], 'dispatching'],
    ['a replay that failed', [action(0, 'succeeded'), action(1, 'failed')], 'failed'],
    ['the latest of several replays', [action(0, 'failed'), action(1, 'failed'), action(2, 'succeeded')], 'succeeded'],
  ])('should read %s as the latest run gives it', (_name, actions, expected) => {
    expect(eventStatus({ evaluatedAt, actions })).toBe(expected);
  });

  it('should be queued before its evaluation is recorded', () => {
    expect(eventStatus({ evaluatedAt: undefined, actions: [] })).toBe('queued');
  });
});
