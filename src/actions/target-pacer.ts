import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { createHash } from 'node:crypto';
import { LuaScript } from '../common/lua-script';
import { AppConfig } from '../config/app-config';
import { PRODUCER_REDIS } from '../queue/producer-redis.provider';

// Atomically hands out the next ARGV[3] free send times for one target, one interval apart, from
// max(now, next free); moves next free past them. Returns the first. Times in microseconds, so rates
// above 1000/s keep their interval (integers below 2^53: exact in Lua's numbers).
const RESERVE_SLOTS = new LuaScript(`
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local count = tonumber(ARGV[3])
local nextFree = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(now, nextFree)
local after = slot + interval * count
redis.call('SET', KEYS[1], after, 'PX', math.ceil((after - now) / 1000) + 1000)
return slot`);

// Moves the target's next free send time to at least ARGV[1] (microseconds): nothing is sent before.
const HOLD_UNTIL = new LuaScript(`
local untilUs = tonumber(ARGV[1])
local nextFree = tonumber(redis.call('GET', KEYS[1]) or '0')
if untilUs > nextFree then
  redis.call('SET', KEYS[1], untilUs, 'PX', math.ceil((untilUs - tonumber(ARGV[2])) / 1000) + 1000)
end
return 1`);

/**
 * A process asks Redis for this much sending time at once (or one slot, when an interval is longer):
 * at 1000 messages/s a block of 20 slots, one Redis call per 20 sends instead of per send. The sends
 * of a block may go together from its start: spacing them 1 ms apart cost a timer and an event-loop
 * turn (with its own socket writes) per send, about a third of a worker's CPU at 700 sends/s.
 */
const BLOCK_US = 20_000;

/** Times in microseconds. */
interface Slot {
  /** The slot's own time in the target's sequence: once it is one interval past, it is dropped. */
  at: number;
  /** Its block's first time: the send may go from then on. */
  from: number;
}

interface LocalSlots {
  /** The target's sequence in Redis (the target URL hashed: it may hold a secret). */
  key: string;
  /** Reserved slots not handed out yet, ascending. */
  slots: Slot[];
  /** The reservation in flight: concurrent callers wait for it rather than each reserve a block. */
  pending?: Promise<void>;
}

/**
 * Paces sends per target (Slack allows about one message per second per webhook) across every
 * worker process, through Redis; a burst is delivered late but complete.
 *
 * The times come from one sequence per target in Redis, one interval apart, so over any stretch of
 * time no more than the rate goes out anywhere. At high rates a process takes a block of consecutive
 * slots per call and hands them out itself; the sends of one block may go together from its first
 * slot (at most 20 ms worth of sends at once: 20 at 1000/s, one at Slack's 1/s). A slot not used
 * within one interval of its own time is dropped, never used late (that would bunch sends beyond a
 * block), so a quiet process wastes a few slots at most, and only at rates where a block holds more than one.
 */
@Injectable()
export class TargetPacer {
  /** Per target URL: hashed once, not on every send. */
  private readonly local = new Map<string, LocalSlots>();
  /** Per target URL: until when (ms) this process holds its sends (holdUntil). */
  private readonly holds = new Map<string, number>();

  constructor(
    @Inject(PRODUCER_REDIS) private readonly redis: Redis,
    private readonly config: AppConfig,
  ) {}

  /** The time (ms) from which this send may go out: in the past when it may go now. */
  async reserve(target: string, perSecond: number): Promise<number> {
    const interval = Math.round(1_000_000 / perSecond);
    const state = this.stateOf(target);
    for (;;) {
      const usableFrom = Date.now() * 1000 - interval;
      while (state.slots.length > 0 && state.slots[0].at < usableFrom) state.slots.shift();
      const slot = state.slots.shift();
      // Whole ms, never early: the time may become a delayed job's timestamp.
      if (slot !== undefined) return Math.ceil(slot.from / 1000);
      state.pending ??= this.reserveBlock(interval, state).finally(() => (state.pending = undefined));
      await state.pending;
    }
  }

  /**
   * The target asked to wait (a 429's Retry-After): no send to it before `untilMs`, from any
   * process. Slots this process reserved before are dropped (another process's few pending slots,
   * at most one block, may still go; they meet the same 429 and hold it again).
   */
  async holdUntil(target: string, untilMs: number): Promise<void> {
    const state = this.stateOf(target);
    state.slots = [];
    this.holds.set(target, Math.max(untilMs, this.holds.get(target) ?? 0));
    await HOLD_UNTIL.run(this.redis, [state.key], [untilMs * 1000, Date.now() * 1000]);
  }

  /**
   * Whether a send at `atMs` (a slot reserved before the hold, kept by a delayed job or waited for
   * in process) would go before a hold this process put on the target ends: it must take a new slot.
   */
  heldPast(target: string, atMs: number): boolean {
    const until = this.holds.get(target);
    if (until === undefined) return false;
    if (until <= Date.now()) {
      this.holds.delete(target);
      return false;
    }
    return atMs < until;
  }

  /** Whether any hold is on: lets callers skip resolving a target when none is. */
  get holding(): boolean {
    return this.holds.size > 0;
  }

  private stateOf(target: string): LocalSlots {
    let state = this.local.get(target);
    if (!state) this.local.set(target, (state = { key: this.keyOf(target), slots: [] }));
    return state;
  }

  // `pace-us`: the times were once kept in ms under `pace`; a new name keeps an older process from misreading them.
  private keyOf(target: string): string {
    return `${this.config.queuePrefix}:pace-us:${createHash('sha256').update(target).digest('hex').slice(0, 24)}`;
  }

  private async reserveBlock(interval: number, state: LocalSlots): Promise<void> {
    const count = Math.max(1, Math.floor(BLOCK_US / interval));
    const first = Number(await RESERVE_SLOTS.run(this.redis, [state.key], [Date.now() * 1000, interval, count]));
    for (let i = 0; i < count; i += 1) state.slots.push({ at: first + i * interval, from: first });
  }
}
