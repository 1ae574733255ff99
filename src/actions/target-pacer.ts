import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { createHash } from 'node:crypto';
import { LuaScript } from '../common/lua-script';
import { AppConfig } from '../config/app-config';
import { PRODUCER_REDIS } from '../queue/producer-redis.provider';

// Atomically hands out the next free send time for one target: max(now, next free), then moves next free on by one interval.
const RESERVE_SLOT = new LuaScript(`
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local nextFree = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(now, nextFree)
redis.call('SET', KEYS[1], slot + interval, 'PX', slot + interval - now + 1000)
return slot`);

/**
 * Paces sends per target (Slack allows about one message per second per webhook) across every
 * worker process, through Redis; a burst is delivered late but complete.
 */
@Injectable()
export class TargetPacer {
  constructor(
    @Inject(PRODUCER_REDIS) private readonly redis: Redis,
    private readonly config: AppConfig,
  ) {}

  /** The time (ms) at which this send may go out; now or later. */
  async reserve(target: string, perSecond: number): Promise<number> {
    const key = `${this.config.queuePrefix}:pace:${createHash('sha256').update(target).digest('hex').slice(0, 24)}`;
    const slot = await RESERVE_SLOT.run(this.redis, [key], [Date.now(), Math.ceil(1000 / perSecond)]);
    return Number(slot);
  }
}
