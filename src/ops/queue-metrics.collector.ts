import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, OnModuleInit } from '@nestjs/common';
import { Queue } from 'bullmq';
import { Gauge } from 'prom-client';
import { QueueName } from '../queue/queue-names';
import { MetricsService } from './metrics.service';

const STATES = ['waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized'] as const;

/** Queue depth per state and age of the oldest waiting job, read from Redis at scrape time. */
@Injectable()
export class QueueMetricsCollector implements OnModuleInit {
  constructor(
    private readonly metrics: MetricsService,
    @InjectQueue(QueueName.Actions) private readonly actions: Queue,
  ) {}

  onModuleInit(): void {
    const queues = [this.actions];
    new Gauge({
      name: 'reactor_queue_jobs',
      help: 'Jobs in each queue, by state',
      labelNames: ['queue', 'state'] as const,
      registers: [this.metrics.registry],
      aggregator: 'max', // each process of ROLE=all reads the same queue: not a sum
      async collect() {
        for (const queue of queues) {
          const counts = await queue.getJobCounts(...STATES);
          for (const state of STATES) this.set({ queue: queue.name, state }, counts[state] ?? 0);
        }
      },
    });
    new Gauge({
      name: 'reactor_queue_oldest_waiting_seconds',
      help: 'Age of the oldest job waiting in each queue (0 when none): a growing value means workers fall behind',
      labelNames: ['queue'] as const,
      registers: [this.metrics.registry],
      aggregator: 'max',
      async collect() {
        for (const queue of queues) {
          const [oldest] = await queue.getJobs(['waiting'], 0, 0, true);
          this.set({ queue: queue.name }, oldest ? (Date.now() - oldest.timestamp) / 1000 : 0);
        }
      },
    });
  }
}
