import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import type Redis from 'ioredis';
import { PRODUCER_REDIS } from './producer-redis.provider';

/** Closes the shared producer connection last, after the queues and services that use it. */
@Injectable()
export class ProducerRedisLifecycle implements OnApplicationShutdown {
  constructor(@Inject(PRODUCER_REDIS) private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
