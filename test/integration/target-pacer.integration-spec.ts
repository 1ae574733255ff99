import Redis from 'ioredis';
import { TargetPacer } from '../../src/actions/target-pacer';
import type { AppConfig } from '../../src/config/app-config';
import { REDIS_URL, removeKeys, uniquePrefix } from '../support/test-app';

/** Two worker processes: each its own pacer and connection, one Redis. */
function twoProcesses(prefix: string) {
  return [0, 1].map(() => {
    const redis = new Redis(REDIS_URL);
    const calls = jest.spyOn(redis, 'evalsha');
    return { redis, calls, pacer: new TargetPacer(redis, { queuePrefix: prefix } as AppConfig) };
  });
}

const gaps = (slots: number[]) => [...slots].sort((a, b) => a - b).slice(1).map((slot, i, rest) => slot - (i === 0 ? Math.min(...slots) : rest[i - 1]));

/** How many sends may go at each distinct start time (a block's sends share its first slot). */
function sendsPerStart(slots: number[]): Map<number, number> {
  const perStart = new Map<number, number>();
  for (const slot of slots) perStart.set(slot, (perStart.get(slot) ?? 0) + 1);
  return perStart;
}

/** Date.now() held at the current time until advanced or restored (the pacer reads time only there). */
function frozenClock() {
  let now = Date.now();
  const spy = jest.spyOn(Date, 'now').mockImplementation(() => now);
  return { advance: (ms: number) => (now += ms), restore: () => spy.mockRestore() };
}

describe('TargetPacer against the real Redis', () => {
  const prefix = uniquePrefix();
  const processes = twoProcesses(prefix);
  afterAll(async () => {
    await Promise.all(processes.map(({ redis }) => redis.quit()));
    await removeKeys(prefix);
  });
  beforeEach(() => processes.forEach(({ calls }) => calls.mockClear()));

  it('should give two processes one sequence at 1000/s: blocks of at most 20 sends, each block 20 ms after the last, not a Redis call per send', async () => {
    const slots = await Promise.all(processes.flatMap(({ pacer }) => Array.from({ length: 100 }, () => pacer.reserve('https://hooks.example/fast', 1000))));

    const perStart = sendsPerStart(slots);
    expect(Math.max(...perStart.values())).toBeLessThanOrEqual(20);
    expect(Math.min(...gaps([...perStart.keys()]))).toBeGreaterThanOrEqual(20);
    expect(Math.max(...slots) - Math.min(...slots)).toBeGreaterThanOrEqual(180); // 200 sends at 1000/s: at least 10 blocks
    const redisCalls = processes.reduce((sum, { calls }) => sum + calls.mock.calls.length, 0);
    expect(redisCalls).toBeLessThanOrEqual(20); // 10 at best; a few more when slots go stale under load
  });

  it('should hold rates above 1000/s: at 2000/s a block holds 40 sends, not 20', async () => {
    // Frozen, so no slot of a 0.5 ms interval goes stale while a busy machine waits for Redis.
    const clock = frozenClock();
    const slots = await Promise.all(processes.flatMap(({ pacer }) => Array.from({ length: 100 }, () => pacer.reserve('https://hooks.example/faster', 2000))));
    clock.restore();

    const perStart = sendsPerStart(slots);
    expect(Math.max(...perStart.values())).toBeGreaterThan(20); // 40 unless the first slots went stale waiting for Redis
    expect(Math.max(...perStart.values())).toBeLessThanOrEqual(40);
    expect(Math.min(...gaps([...perStart.keys()]))).toBeGreaterThanOrEqual(20);
  });

  it('should let a send go at once while its block lasts, without waiting for its own slot', async () => {
    const { pacer, calls } = processes[0];
    const clock = frozenClock();
    const first = await pacer.reserve('https://hooks.example/steady', 1000);
    clock.advance(5); // a busy CI machine can sleep past the block's 20 ms: the clock is the test's

    const next = await pacer.reserve('https://hooks.example/steady', 1000);
    clock.restore();

    expect(next).toBe(first);
    expect(calls).toHaveBeenCalledTimes(1);
  });

  it('should ask Redis for every send when one interval is longer than a block, and space them by it', async () => {
    const slots = await Promise.all(processes.flatMap(({ pacer }) => [1, 2, 3].map(() => pacer.reserve('https://hooks.example/slow', 4))));

    expect(gaps(slots)).toEqual([250, 250, 250, 250, 250]);
    expect(processes.reduce((sum, { calls }) => sum + calls.mock.calls.length, 0)).toBe(6);
  });

  it('should drop a reserved time it did not use in time rather than send late, bunched with newer ones', async () => {
    const { pacer, calls } = processes[0];
    const first = await pacer.reserve('https://hooks.example/idle', 1000);
    // The rest of the block is now in the past. A timer may fire a millisecond early by Date.now(), so wait by the clock.
    while (Date.now() < first + 50) await new Promise((resolve) => setTimeout(resolve, 5));

    const before = Date.now();
    const next = await pacer.reserve('https://hooks.example/idle', 1000);

    expect(next - first).toBeGreaterThanOrEqual(50);
    expect(next).toBeGreaterThanOrEqual(before - 1);
    expect(calls).toHaveBeenCalledTimes(2);
  });

  it('should keep targets apart', async () => {
    const [a, b] = await Promise.all([processes[0].pacer.reserve('https://hooks.example/a', 1), processes[1].pacer.reserve('https://hooks.example/b', 1)]);

    expect(Math.abs(a - b)).toBeLessThan(1000);
  });
});
