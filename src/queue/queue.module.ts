import { BullModule } from '@nestjs/bullmq';
import { Global, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { DEFAULT_JOB_OPTIONS } from './job-options';
import { QueueErrorListener } from './queue-error.listener';
import { ProducerRedisLifecycle } from './producer-redis.lifecycle';
import { producerRedisProvider, PRODUCER_REDIS } from './producer-redis.provider';
import { QueueName } from './queue-names';
import { workerRedisOptions } from './redis-options';

/** BullMQ wiring: worker-side connection options for registered queues, plus the fail-fast producer connection. */
@Global()
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        connection: workerRedisOptions(config.redis.url),
        prefix: config.queuePrefix,
        defaultJobOptions: DEFAULT_JOB_OPTIONS,
      }),
    }),
    BullModule.registerQueue({ name: QueueName.Actions }),
  ],
  providers: [producerRedisProvider, ProducerRedisLifecycle, QueueErrorListener],
  exports: [BullModule, PRODUCER_REDIS],
})
export class QueueModule {}
