import { Injectable, Logger } from '@nestjs/common';
import { ChangeEvent } from '../changes/change-event';
import { isRedisUnavailable } from '../common/redis-unavailable';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../ops/metrics.service';
import { EventEvaluationService } from '../rules/event-evaluation.service';
import { RulesService } from '../rules/rules.service';
import { EntityStateStore } from '../sources/entity-state.store';
import { isNamedBlueprint } from '../sources/reconcile.service';

/** Redis could not take the event; the caller should retry later. */
export class QueueUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`queue unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'QueueUnavailableError';
  }
}

export interface IntakeResult {
  eventId: string;
  duplicate: boolean;
}

/**
 * The one way into the service for every source: the event is evaluated where it arrives and its
 * record and action jobs are written to Redis, deduplicated, in one round trip. Resolves only once
 * Redis has them, so a 202 (or a Kafka commit) means the actions are durably queued.
 */
@Injectable()
export class EventIntakeService {
  private readonly logger = new Logger(EventIntakeService.name);

  constructor(
    private readonly evaluation: EventEvaluationService,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
    private readonly entityState: EntityStateStore,
    private readonly rules: RulesService,
  ) {}

  async accept(event: ChangeEvent): Promise<IntakeResult> {
    // Catch-up keeps the state of the blueprints the rules name only: what it reads from Port.
    const caughtUp = this.config.reconcile !== undefined && typeof event.blueprint === 'string' && isNamedBlueprint(this.rules.current(), event.blueprint);
    let duplicate: boolean;
    try {
      if (caughtUp && (await this.entityState.reportedByCatchUp(event))) {
        // Port's event has come: its state replaces catch-up's mark (a deletion's trace is dropped).
        await this.rememberState(event);
        return this.duplicate(event, 'catch-up already reported this change, nothing runs twice');
      }
      ({ duplicate } = await this.evaluation.evaluate(event));
    } catch (error) {
      // Redis down: a 503, retry later. Anything else is a fault of ours (a 500, logged), not an outage.
      throw isRedisUnavailable(error) ? new QueueUnavailableError(error) : error;
    }
    if (duplicate) return this.duplicate(event, 'duplicate delivery: already recorded, nothing runs twice');
    this.metrics.eventsReceived.inc({ source: event.source, outcome: 'accepted' });
    // Catch-up's own events: the run wrote their state already, marked as reported.
    if (caughtUp && event.source !== 'reconcile') await this.rememberState(event);
    return { eventId: event.id, duplicate: false };
  }

  /** Catch-up compares Port with the last state seen; a failed write only makes it report this change again. */
  private async rememberState(event: ChangeEvent): Promise<void> {
    await this.entityState.record(event).catch((error: Error) => this.logger.warn({ eventId: event.id }, `entity state not recorded: ${error.message}`));
  }

  private duplicate(event: ChangeEvent, why: string): IntakeResult {
    this.metrics.eventsReceived.inc({ source: event.source, outcome: 'duplicate' });
    this.logger.log({ eventId: event.id, source: event.source }, why);
    return { eventId: event.id, duplicate: true };
  }
}
