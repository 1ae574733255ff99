import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { Queue } from 'bullmq';
import type Redis from 'ioredis';
import { ChangeEvent } from '../changes/change-event';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../ops/metrics.service';
import { EntityStateStore } from '../sources/entity-state.store';
import { jobOptions } from '../queue/job-options';
import { EvaluateEventJob } from '../queue/job-types';
import { PRODUCER_REDIS, producerQueue } from '../queue/producer-redis.provider';
import { JobName, QueueName } from '../queue/queue-names';

/** Redis (or the queue in it) could not take the event; the caller should retry later. */
export class QueueUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`queue unavailable: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'QueueUnavailableError';
  }
}

export interface IntakeResult {
  eventId: string;
  duplicate: boolean;
}

/**
 * The one way into the service for every source: dedupe, then put the event durably on the
 * events queue. Resolves only once Redis has the job.
 */
@Injectable()
export class EventIntakeService implements OnModuleDestroy {
  private readonly logger = new Logger(EventIntakeService.name);
  private readonly queue: Queue<EvaluateEventJob>;

  constructor(
    @Inject(PRODUCER_REDIS) private readonly redis: Redis,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
    private readonly entityState: EntityStateStore,
  ) {
    this.queue = producerQueue(QueueName.Events, redis, config, this.logger);
  }

  async accept(event: ChangeEvent): Promise<IntakeResult> {
    try {
      // One round trip. BullMQ's deduplication (TTL mode) adds the job and its dedupe key in one
      // script, so a crash can never leave one without the other, and a redelivery within the TTL
      // adds nothing. The EXISTS ahead of it on the same connection (Redis runs one connection's
      // commands in order) tells the caller whether this delivery was the first.
      const [seen] = await Promise.all([
        this.redis.exists(this.dedupeKey(event.id)),
        this.queue.add(JobName.EvaluateEvent, { event }, {
          ...jobOptions(JobName.EvaluateEvent, event.id),
          deduplication: { id: event.id, ttl: this.config.dedupeTtlSeconds * 1000 },
        }),
      ]);
      if (seen) return this.duplicate(event);
      this.metrics.eventsReceived.inc({ source: event.source, outcome: 'accepted' });
      if (this.config.reconcile) await this.rememberState(event);
      this.logger.debug({ eventId: event.id, source: event.source, blueprint: event.blueprint, entity: event.entity }, 'event queued');
      return { eventId: event.id, duplicate: false };
    } catch (error) {
      throw new QueueUnavailableError(error);
    }
  }

  /** BullMQ's own key for a deduplication id: `<prefix>:<queue>:de:<id>`. */
  private dedupeKey(eventId: string): string {
    return `${this.queue.keys.de}:${eventId}`;
  }

  /** Catch-up compares Port with the last state seen; a failed write only makes it report this change again. */
  private async rememberState(event: ChangeEvent): Promise<void> {
    await this.entityState.record(event).catch((error: Error) => this.logger.warn({ eventId: event.id }, `entity state not recorded: ${error.message}`));
  }

  private duplicate(event: ChangeEvent): IntakeResult {
    this.metrics.eventsReceived.inc({ source: event.source, outcome: 'duplicate' });
    this.logger.log({ eventId: event.id, source: event.source }, 'duplicate delivery: already queued, nothing runs twice');
    return { eventId: event.id, duplicate: true };
  }

  async onModuleDestroy(): Promise<void> {
    await this.queue.close();
  }
}
