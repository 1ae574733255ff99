import Redis from 'ioredis';
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { coalesceRedisWrites } from '../../src/queue/redis-write-coalescing';
import { REDIS_URL } from '../support/test-app';

type Writes = { single: number; vectored: number[] };

/** Counts the socket's writes as Node hands them to the kernel: `_write` one chunk, `_writev` several. */
function countWrites(socket: Socket): Writes {
  const writes: Writes = { single: 0, vectored: [] };
  const internals = socket as unknown as { _write: (...a: unknown[]) => void; _writev: (chunks: unknown[], cb: unknown) => void };
  const write = internals._write.bind(socket);
  const writev = internals._writev.bind(socket);
  internals._write = (...args) => { writes.single += 1; write(...args); };
  internals._writev = (chunks, cb) => { writes.vectored.push(chunks.length); writev(chunks, cb); };
  return writes;
}

describe('Redis write coalescing against the real Redis', () => {
  const key = `coalesce-test:${randomBytes(4).toString('hex')}`;
  let redis: Redis;

  beforeAll(async () => {
    coalesceRedisWrites();
    redis = new Redis(REDIS_URL);
    await redis.ping();
  });
  afterAll(async () => {
    await redis.del(key);
    await redis.quit();
  });

  it('should send the commands of one turn in one writev, each with its own reply, in order', async () => {
    const writes = countWrites(redis.stream as Socket);

    const replies = await Promise.all([redis.set(key, '1'), redis.incr(key), redis.incrby(key, 5), redis.get(key)]);

    expect(replies).toEqual(['OK', 2, 7, '7']);
    expect(writes).toEqual({ single: 0, vectored: [4] });
  });

  it('should not hold a command past its turn: one awaited after another each leaves on its own', async () => {
    const writes = countWrites(redis.stream as Socket);

    await redis.set(key, 'a');
    await redis.append(key, 'b');
    await expect(redis.get(key)).resolves.toBe('ab');

    expect(writes.single + writes.vectored.length).toBe(3);
  });

  it('should report a failing command in the batch without disturbing the others', async () => {
    await redis.set(key, 'not a number');
    const [incr, get] = await Promise.allSettled([redis.incr(key), redis.get(key)]);

    expect(incr).toMatchObject({ status: 'rejected', reason: expect.objectContaining({ message: expect.stringMatching(/not an integer/) }) });
    expect(get).toEqual({ status: 'fulfilled', value: 'not a number' });
  });

  it('should coalesce on the new socket after a reconnect', async () => {
    const before = redis.stream;
    redis.disconnect(true);
    await new Promise<void>((resolve) => redis.once('ready', () => resolve()));
    expect(redis.stream).not.toBe(before);
    const writes = countWrites(redis.stream as Socket);

    await expect(Promise.all([redis.set(key, 'x'), redis.get(key)])).resolves.toEqual(['OK', 'x']);
    expect(writes).toEqual({ single: 0, vectored: [2] });
  });

  it('should leave pipelines alone: a pipeline writes its commands at once already', async () => {
    const writes = countWrites(redis.stream as Socket);

    await expect(redis.pipeline().set(key, 'p').get(key).exec()).resolves.toEqual([[null, 'OK'], [null, 'p']]);
    expect(writes.single + writes.vectored.length).toBe(1);
  });
});
