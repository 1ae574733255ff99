import { Injectable, Logger } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import type Redis from 'ioredis';
import { ActionRecord } from '../events/event-record';
import { EventRecordStore } from '../events/event-record.store';
import { MetricsService } from '../ops/metrics.service';
import { DispatchActionJob } from '../queue/job-types';
import { DispatchResult } from './action-dispatcher';
import { ActionError, PermanentActionError, RateLimitedActionError } from './action-errors';
import { actionKey } from './action-key';
import { ActionRouter } from './action-router.service';

export interface Attempt {
  number: number;
  max: number;
  queuedAt: number;
}

/**
 * Runs one action, records the outcome, and turns a permanent failure into BullMQ's "do not retry".
 *
 * The outcome is written on the worker's own Redis connection and not waited for: BullMQ's
 * move to completed (or failed, or retry) follows on that connection in the same turn, so both leave
 * in one write and Redis applies them in order: the record is updated before the job finishes, one
 * round trip instead of two.
 */
@Injectable()
export class ActionRunnerService {
  private readonly logger = new Logger(ActionRunnerService.name);
  /** The errors run() threw after recording them: the worker's `failed` event records the others. */
  private readonly recorded = new WeakSet<Error>();

  constructor(
    private readonly router: ActionRouter,
    private readonly records: EventRecordStore,
    private readonly metrics: MetricsService,
  ) {}

  async run(job: DispatchActionJob, attempt: Attempt, connection: Redis): Promise<DispatchResult> {
    const key = actionKey(job.eventId, job.replay, job.ruleId, job.actionIndex);
    const log = { eventId: job.eventId, ruleId: job.ruleId, action: job.action.type, attempt: attempt.number };
    const record = (patch: Pick<ActionRecord, 'status'> & Partial<ActionRecord>) => this.record(job, key, attempt.number, attempt.queuedAt, patch, connection);
    try {
      const result = await this.router.dispatch(job.action, { eventId: job.eventId, ruleId: job.ruleId, actionKey: key });
      record({ status: 'succeeded', result });
      this.metrics.actions.inc({ type: job.action.type, outcome: 'succeeded' });
      // A replay's action is timed from the replay (its job's queueing), not from the event's first receipt.
      const from = job.replay > 0 ? attempt.queuedAt : Date.parse(job.receivedAt);
      this.metrics.receiptToDispatch.observe({ type: job.action.type }, (Date.now() - from) / 1000);
      this.logger.log(log, `action succeeded: ${result.summary}`);
      return result;
    } catch (error) {
      const permanent = error instanceof PermanentActionError;
      const final = permanent || attempt.number >= attempt.max;
      const lastError = { statusCode: error instanceof ActionError ? error.statusCode : undefined, message: shortMessage(error) };
      // A target's Retry-After (429) holds the retry at least that long (up to 10 minutes): the record says so.
      const held = !final && error instanceof RateLimitedActionError && error.retryAfterMs > 0;
      const waiting = held ? { waiting: { reason: `the target answered ${lastError.statusCode ?? 429} with Retry-After: retried no sooner than this`, until: new Date(Date.now() + error.retryAfterMs).toISOString() } } : {};
      record({ status: final ? 'failed' : 'retrying', lastError, ...waiting });
      this.metrics.actions.inc({ type: job.action.type, outcome: final ? 'failed' : 'retried' });
      this.logger.warn({ ...log, statusCode: lastError.statusCode }, `action ${final ? 'failed' : 'will retry'}: ${lastError.message}`);
      const thrown = permanent ? new UnrecoverableError(lastError.message) : error instanceof Error ? error : new Error(String(error));
      this.recorded.add(thrown);
      throw thrown;
    }
  }

  /** Whether run() recorded the failure that threw `error` (false for an error from anywhere else). */
  recordedFailure(error: Error): boolean {
    return this.recorded.has(error);
  }

  /** An action BullMQ failed without running it (see ActionProcessor.onFailed): recorded, counted and logged as failed. */
  abandoned(job: DispatchActionJob, attempt: Attempt, reason: string, connection: Redis): void {
    const key = actionKey(job.eventId, job.replay, job.ruleId, job.actionIndex);
    this.record(job, key, attempt.number, attempt.queuedAt, { status: 'failed', lastError: { message: shortMessage(reason) } }, connection);
    this.metrics.actions.inc({ type: job.action.type, outcome: 'failed' });
    this.logger.error({ eventId: job.eventId, ruleId: job.ruleId, action: job.action.type }, `action failed: ${reason}`);
  }

  /**
   * Notes on an action that does not run yet (Slack pacing, a slow target) why and until when, so
   * that its record does not look stuck; a retrying action keeps its last error. Sent on the worker's
   * connection and not waited for, like an outcome (see the class).
   */
  noteWaiting(job: DispatchActionJob, waiting: { reason: string; until: number }, connection: Redis): void {
    const key = actionKey(job.eventId, job.replay, job.ruleId, job.actionIndex);
    this.records.noteWaiting(job.eventId, key, { reason: waiting.reason, until: new Date(waiting.until).toISOString() }, connection).catch(this.notUpdated(job));
  }

  private record(job: DispatchActionJob, key: string, attempts: number, queuedAt: number, patch: Pick<ActionRecord, 'status'> & Partial<ActionRecord>, connection: Redis): void {
    const entry: ActionRecord = {
      key, ruleId: job.ruleId, actionIndex: job.actionIndex, replay: job.replay, type: job.action.type,
      attempts, queuedAt: new Date(queuedAt).toISOString(), updatedAt: new Date().toISOString(), ...patch,
    };
    this.records.updateAction(job.eventId, entry, connection).catch(this.notUpdated(job));
  }

  /** A record write that failed only loses a detail of the record: the job itself goes on. */
  private notUpdated(job: DispatchActionJob): (error: Error) => void {
    return (error) => this.logger.warn({ eventId: job.eventId, ruleId: job.ruleId, action: job.action.type }, `action record not updated: ${error.message}`);
  }
}

function shortMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > 300 ? `${message.slice(0, 297)}...` : message;
}
