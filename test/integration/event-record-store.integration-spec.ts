import Redis, { ReplyError } from 'ioredis';
import type { AppConfig } from '../../src/config/app-config';
import type { ActionRecord } from '../../src/events/event-record';
import { EventRecordStore } from '../../src/events/event-record.store';
import { REDIS_URL, removeKeys, uniquePrefix, waitFor } from '../support/test-app';

const OOM = "OOM command not allowed when used memory > 'maxmemory'.";

const entry = (status: ActionRecord['status'], updatedAt: string): ActionRecord => ({
  key: 'evt_1.rule.0', ruleId: 'rule', actionIndex: 0, replay: 0, type: 'http', attempts: 1, queuedAt: '2026-11-30T00:00:00.000Z', updatedAt, status,
});

/** A worker connection as Redis past maxmemory (noeviction) answers it: every write refused. */
const refusing = { evalsha: () => Promise.reject(new ReplyError(OOM)), eval: () => Promise.reject(new ReplyError(OOM)) } as unknown as Redis;

describe('EventRecordStore (real Redis)', () => {
  jest.setTimeout(15_000);
  let redis: Redis;
  let prefix: string;
  let sut: EventRecordStore;

  beforeEach(() => {
    redis = new Redis(REDIS_URL);
    prefix = uniquePrefix();
    sut = new EventRecordStore(redis, { queuePrefix: prefix, redis: { url: REDIS_URL }, eventRetentionSeconds: 60 } as AppConfig);
  });

  afterEach(async () => {
    await sut.onModuleDestroy();
    await removeKeys(prefix);
    redis.disconnect();
  });

  describe('action entries Redis refused', () => {
    const recordKey = () => `${prefix}:record:evt_1`;
    const stored = async () => JSON.parse((await redis.hget(recordKey(), 'action:evt_1.rule.0')) ?? 'null') as ActionRecord | null;

    beforeEach(async () => {
      await redis.hset(recordKey(), 'event', '{}', 'action:evt_1.rule.0', JSON.stringify(entry('queued', '2026-11-30T00:00:00.000Z')));
    });

    it('should write a refused entry again once Redis takes writes, so the record does not stay queued', async () => {
      await expect(sut.updateAction('evt_1', entry('succeeded', '2026-11-30T00:00:05.000Z'), refusing)).rejects.toThrow(OOM);

      expect(sut.pendingRewrites).toBe(1);
      await waitFor(async () => ((await stored())?.status === 'succeeded' ? true : undefined), 5_000, 'the entry written again');
      expect(sut.pendingRewrites).toBe(0);
    });

    it('should not let a refused entry replace a newer one written meanwhile', async () => {
      await expect(sut.updateAction('evt_1', entry('retrying', '2026-11-30T00:00:05.000Z'), refusing)).rejects.toThrow(OOM);
      await sut.updateAction('evt_1', entry('succeeded', '2026-11-30T00:00:09.000Z'));

      await waitFor(async () => (sut.pendingRewrites === 0 ? true : undefined), 5_000, 'the pending rewrite done');
      expect(await stored()).toMatchObject({ status: 'succeeded' });
    });

    it('should not bring back a record past its retention with an action update', async () => {
      await redis.del(recordKey());

      await sut.updateAction('evt_1', entry('succeeded', '2026-11-30T00:00:05.000Z'));

      expect(await redis.exists(recordKey())).toBe(0);
    });
  });

  describe('the listing after a quiet spell', () => {
    it('should drop the index entries of records past retention, so no reader pages through them', async () => {
      // No event was recorded since these: their records have expired, the index still names them.
      const old = Date.now() - 61_000;
      for (let i = 0; i < 3_000; i += 1) await redis.zadd(`${prefix}:records`, old - i, `evt_gone${i}`);

      await expect(sut.list({ limit: 50 })).resolves.toEqual({ items: [] });
      expect(await redis.zcard(`${prefix}:records`)).toBe(0);
    });
  });
});
