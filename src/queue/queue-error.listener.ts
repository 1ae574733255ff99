import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { Queue } from 'bullmq';
import { QueueName } from './queue-names';

/** An 'error' event with no listener would crash the process; Redis hiccups are logged instead. */
@Injectable()
export class QueueErrorListener implements OnModuleInit {
  private readonly logger = new Logger('Queues');

  constructor(
    @InjectQueue(QueueName.Actions) private readonly actions: Queue,
  ) {}

  onModuleInit(): void {
    for (const queue of [this.actions]) {
      queue.on('error', (error: Error) => this.logger.warn(`${queue.name} queue: ${error.message}`));
    }
  }
}
