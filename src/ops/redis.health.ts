import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import type Redis from 'ioredis';
import { redisInfoField } from '../common/redis-info';
import { lastConnectionError, PRODUCER_REDIS } from '../queue/producer-redis.provider';

/**
 * Redis answers and takes writes. Past `maxmemory` with `noeviction` (the policy BullMQ needs) it
 * answers PING but refuses every write, so every webhook gets a 503: that is down too, or readiness
 * would stay green through it. Where INFO is not allowed (a restricted ACL user), PING alone decides.
 */
@Injectable()
export class RedisHealthIndicator {
  constructor(
    @Inject(PRODUCER_REDIS) private readonly redis: Redis,
    private readonly indicators: HealthIndicatorService,
  ) {}

  async isHealthy(key = 'redis') {
    const indicator = this.indicators.check(key);
    try {
      await this.redis.ping();
    } catch (error) {
      // "Stream isn't writeable" says only that there is no connection; the connection's own error says why.
      return indicator.down({ message: lastConnectionError(this.redis) ?? (error instanceof Error ? error.message : 'unreachable') });
    }
    const memory = await this.redis.info('memory').catch(() => '');
    return refusesWrites(memory) ? indicator.down({ message: 'out of memory: used_memory has reached maxmemory and the policy is noeviction, so Redis refuses writes' }) : indicator.up();
  }
}

/** From `INFO memory`: whether Redis refuses writes for memory (maxmemory set, reached, noeviction). */
export function refusesWrites(info: string): boolean {
  const field = (name: string) => redisInfoField(info, name);
  const max = Number(field('maxmemory'));
  return max > 0 && Number(field('used_memory')) >= max && field('maxmemory_policy') === 'noeviction';
}
