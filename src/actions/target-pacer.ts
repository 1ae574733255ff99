import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { createHash } from 'node:crypto';
import { LuaScript } from '../common/lua-script';
import { AppConfig } from '../config/app-config';
import { PRODUCER_REDIS } from '../queue/producer-redis.provider';

// Atomically hands out the next ARGV[3] free send times for one target, one interval apart, from
// max(now, next free); moves next free past them. Returns the first.
const RESERVE_SLOTS = new LuaScript(`
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local count = tonumber(ARGV[3])
local nextFree = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(now, nextFree)
local after = slot + interval * count
redis.call('SET', KEYS[1], after, 'PX', after - now + 1000)
return slot`);

/**
 * A process asks Redis for this much sending time at once (or one slot, when an interval is longer):
 * at 1000 messages/s a block of 20 slots, one Redis call per 20 sends instead of per send.
 */
const BLOCK_MS = 20;

interface LocalSlots {
  /** The target's sequence in Redis (the target URL hashed: it may hold a secret). */
  key: string;
  /** Reserved send times not handed out yet, ascending. */
  slots: number[];
  /** The reservation in flight: concurrent callers wait for it rather than each reserve a block. */
  pending?: Promise<void>;
}

/**
 * Paces sends per target (Slack allows about one message per second per webhook) across every
 * worker process, through Redis; a burst is delivered late but complete.
 *
 * The times come from one sequence per target in Redis, so no two sends anywhere are closer than
 * the interval. At high rates a process takes a block of consecutive times per call and hands them
 * out itself; a time not used within one interval of it is dropped, never used late (that would
 * bunch sends), so a quiet process wastes a few slots at most, and only at rates where a block holds more than one.
 */
@Injectable()
export class TargetPacer {
  /** Per target URL: hashed once, not on every send. */
  private readonly local = new Map<string, LocalSlots>();

  constructor(
    @Inject(PRODUCER_REDIS) private readonly redis: Redis,
    private readonly config: AppConfig,
  ) {}

  /** The time (ms) at which this send may go out; now or later. */
  async reserve(target: string, perSecond: number): Promise<number> {
    const interval = Math.ceil(1000 / perSecond);
    let state = this.local.get(target);
    if (!state) this.local.set(target, (state = { key: this.keyOf(target), slots: [] }));
    for (;;) {
      const usableFrom = Date.now() - interval;
      while (state.slots.length > 0 && state.slots[0] < usableFrom) state.slots.shift();
      const slot = state.slots.shift();
      if (slot !== undefined) return slot;
      state.pending ??= this.reserveBlock(interval, state).finally(() => (state.pending = undefined));
      await state.pending;
    }
  }

  private keyOf(target: string): string {
    return `${this.config.queuePrefix}:pace:${createHash('sha256').update(target).digest('hex').slice(0, 24)}`;
  }

  private async reserveBlock(interval: number, state: LocalSlots): Promise<void> {
    const count = Math.max(1, Math.floor(BLOCK_MS / interval));
    const first = Number(await RESERVE_SLOTS.run(this.redis, [state.key], [Date.now(), interval, count]));
    for (let i = 0; i < count; i += 1) state.slots.push(first + i * interval);
  }
}
