import type Redis from 'ioredis';
import type { ChangeEvent } from '../changes/change-event';
import { parsePortBody } from '../changes/change-event.parser';
import type { AppConfig } from '../config/app-config';
import { encodeDeletedState, encodeEntityState } from './entity-state';
import { EntityStateStore } from './entity-state.store';

const event = (action: string, diff: { before?: object | null; after?: object | null }, extra: object = {}): ChangeEvent => {
  const parsed = parsePortBody(
    { action, resourceType: 'entity', status: 'SUCCESS', context: { blueprint: 'service', entity: 'a' }, diff, ...extra },
    { source: 'webhook', receivedAt: '2026-01-01T00:00:00.000Z' },
  );
  if (!parsed.ok) throw new Error('bad test event');
  return parsed.event;
};

describe(EntityStateStore.name, () => {
  let redis: jest.Mocked<Pick<Redis, 'hset' | 'hdel' | 'hget' | 'hscan' | 'evalsha' | 'sismember' | 'sadd'>>;
  let sut: EntityStateStore;

  beforeEach(() => {
    redis = {
      hset: jest.fn().mockResolvedValue(1),
      hdel: jest.fn().mockResolvedValue(1),
      hget: jest.fn().mockResolvedValue(null),
      hscan: jest.fn(),
      evalsha: jest.fn(),
      sismember: jest.fn().mockResolvedValue(0),
      sadd: jest.fn().mockResolvedValue(1),
    } as never;
    sut = new EntityStateStore(redis as unknown as Redis, { queuePrefix: 'pfx' } as AppConfig);
  });

  describe('reportedByCatchUp', () => {
    const healthy = { identifier: 'a', properties: { health: 'Healthy' } };
    const degraded = { identifier: 'a', properties: { health: 'Degraded' }, team: [] };
    const reported = encodeEntityState(degraded, true);
    const rows: [string, string | null, ChangeEvent, boolean][] = [
      ['the change catch-up reported (the event leaves out the empty team)', reported, event('UPDATE', { before: healthy, after: { ...degraded, team: undefined } }), true],
      ['a CREATE catch-up reported', reported, event('CREATE', { before: null, after: degraded }), true],
      ['the same state, but brought by an event', encodeEntityState(degraded), event('UPDATE', { before: healthy, after: degraded }), false],
      ['a later change from the reported state', reported, event('UPDATE', { before: degraded, after: healthy }), false],
      ['an event that changes none of the compared fields', reported, event('UPDATE', { before: degraded, after: { ...degraded, updatedAt: 'now' } }), false],
      ['an entity with no state', null, event('UPDATE', { before: healthy, after: degraded }), false],
      ['a DELETE of an entity catch-up did not report deleted', reported, event('DELETE', { before: degraded, after: null }), false],
      ['a DELETE catch-up reported', encodeDeletedState(1_000), event('DELETE', { before: degraded, after: null }), true],
      ['a DELETE of an entity with no state', null, event('DELETE', { before: degraded, after: null }), false],
      ['an UPDATE of an entity catch-up reported deleted', encodeDeletedState(1_000), event('UPDATE', { before: healthy, after: degraded }), false],
    ];
    it.each(rows)('should tell whether catch-up already reported it: %s', async (_name, stored, change, expected) => {
      redis.hget.mockResolvedValue(stored);

      await expect(sut.reportedByCatchUp(change)).resolves.toBe(expected);
    });

    it("should never hold back catch-up's own event", async () => {
      redis.hget.mockResolvedValue(reported);
      const own = { ...event('UPDATE', { before: healthy, after: degraded }), source: 'reconcile' as const };

      await expect(sut.reportedByCatchUp(own)).resolves.toBe(false);
      expect(redis.hget).not.toHaveBeenCalled();
    });
  });

  describe('record', () => {
    it('should store the after state of a CREATE or UPDATE under the blueprint hash', async () => {
      const after = { identifier: 'a', properties: { health: 'Degraded' } };

      await sut.record(event('UPDATE', { before: { identifier: 'a' }, after }));

      expect(redis.evalsha).toHaveBeenCalledWith(expect.stringMatching(/^[0-9a-f]{40}$/), 1, 'pfx:state:service', 'a', encodeEntityState(after), 'UPDATE');
    });

    it('should forget the entity on DELETE', async () => {
      await sut.record(event('DELETE', { before: { identifier: 'a' }, after: null }));

      expect(redis.hdel).toHaveBeenCalledWith('pfx:state:service', 'a');
      expect(redis.evalsha).not.toHaveBeenCalled();
    });

    it.each([
      ['a run event', { resourceType: 'run' }],
      ['a failed change', { status: 'FAILURE' }],
      ['a TIMER_EXPIRED event', { action: 'TIMER_EXPIRED' }],
    ])('should ignore %s', async (_what, extra) => {
      await sut.record(event('UPDATE', { after: { identifier: 'a' } }, extra));

      expect(redis.evalsha).not.toHaveBeenCalled();
      expect(redis.hdel).not.toHaveBeenCalled();
    });
  });

  describe('snapshot', () => {
    it('should follow the HSCAN cursor and key the states by entity', async () => {
      const a = encodeEntityState({ identifier: 'a' });
      const b = encodeEntityState({ identifier: 'b' });
      redis.hscan.mockResolvedValueOnce(['7', ['a', a]]).mockResolvedValueOnce(['0', ['b', b]]);

      const states = await sut.snapshot('service');

      expect(redis.hscan).toHaveBeenNthCalledWith(2, 'pfx:state:service', '7', 'COUNT', 1000);
      expect([...states.keys()]).toEqual(['a', 'b']);
      expect(states.get('b')).toEqual({ fingerprint: b.split(' ')[0], raw: b, reportedByCatchUp: false });
    });
  });

  describe('compareAndSet', () => {
    it('should send (entity, expected, next) triples with empty strings for absent and report each one applied', async () => {
      redis.evalsha.mockResolvedValue([1, 0]);
      const next = { identifier: 'n' };

      const applied = await sut.compareAndSet('service', [
        { entity: 'n', expected: null, next },
        { entity: 'd', expected: 'old', next: null },
      ]);

      expect(applied).toEqual([true, false]);
      expect(redis.evalsha).toHaveBeenCalledWith(expect.stringMatching(/^[0-9a-f]{40}$/), 1, 'pfx:state:service', 'n', '', encodeEntityState(next), 'd', 'old', '');
    });
  });

  describe('isRecorded / markRecorded', () => {
    it('should keep the recorded blueprints in a set outside the state hashes', async () => {
      await sut.markRecorded('service');
      redis.sismember.mockResolvedValue(1);

      await expect(sut.isRecorded('service')).resolves.toBe(true);
      expect(redis.sadd).toHaveBeenCalledWith('pfx:state-recorded', 'service');
    });
  });
});
