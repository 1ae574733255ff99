import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { BeforeApplicationShutdown, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { DelayedError, Job, UnrecoverableError } from 'bullmq';
import type Redis from 'ioredis';
import { actionBackoff } from '../actions/action-backoff';
import { DispatchResult } from '../actions/action-dispatcher';
import { RateLimitedActionError } from '../actions/action-errors';
import { ActionRunnerService } from '../actions/action-runner.service';
import { SlackPacingService } from '../actions/slack/slack-pacing.service';
import { actionTarget, TargetBulkhead } from '../actions/target-bulkhead';
import { isRedisUnavailable } from '../common/redis-unavailable';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../ops/metrics.service';
import { DispatchActionJob } from './job-types';
import { JobName, QueueName } from './queue-names';

const IN_PROCESS_WAIT_MS = 250;
/**
 * Times a job may be taken back from a worker that stopped while running it (killed, out of memory,
 * or its event loop blocked past the 30 s lock) and run again; BullMQ's default is 1, so two crashes
 * in a row (a crash loop, a hard redeploy) failed an action that was never tried. Bounded all the
 * same: an action that kills its worker every time must not take every worker down for ever.
 */
export const MAX_STALLED_COUNT = 3;
const CROWDED_MAX_DELAY_MS = 30_000;
/** How long an action waits, back in the queue, when Slack pacing cannot reach Redis (a few seconds, jittered). */
const PACING_DOWN_DELAY_MS = 5_000;
const PACING_DOWN_LOG_EVERY_MS = 10_000;

/** `slot`: a Slack send time reserved before a delay; `crowded`: times put back because its target had its share of slots. */
type PacedJob = DispatchActionJob & { slot?: { at: number; attempt: number }; crowded?: number };

/**
 * Consumes action jobs, WORKER_CONCURRENCY at once. Slack sends are paced per webhook before they
 * run. A job whose target already holds its share of the slots waits briefly for one of them, or, if
 * the target is slow, goes back to the queue for a while without using an attempt (see TargetBulkhead).
 */
@Processor(QueueName.Actions, { concurrency: 32, maxStalledCount: MAX_STALLED_COUNT, settings: { backoffStrategy: actionBackoff } })
export class ActionProcessor extends WorkerHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(ActionProcessor.name);
  private readonly bulkhead: TargetBulkhead;
  /** Actions put back since the last warning that Slack pacing cannot use Redis (one line per 10 s, not per job). */
  private pacingDown = { count: 0, warnedAt: 0 };

  constructor(
    private readonly runner: ActionRunnerService,
    private readonly pacing: SlackPacingService,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {
    super();
    this.bulkhead = new TargetBulkhead(config.workerConcurrency);
  }

  /**
   * Finishes the jobs this worker holds, taking no new ones, before the HTTP clients they call
   * through close (onApplicationShutdown, the phase after this one; BullMQ's own close of the worker
   * comes then too, and would race them).
   */
  async beforeApplicationShutdown(): Promise<void> {
    await this.worker?.close();
  }

  /** The decorator's options are fixed at compile time; BullMQ's worker reads its concurrency on every fetch. */
  onApplicationBootstrap(): void {
    this.worker.concurrency = this.config.workerConcurrency;
  }

  async process(job: Job<PacedJob>, token?: string): Promise<DispatchResult> {
    switch (job.name) {
      case JobName.DispatchAction:
        return this.dispatch(job, token);
      default:
        throw new UnrecoverableError(`actions queue has no handler for job "${job.name}"`);
    }
  }

  /** Paced first (a wait for a Slack slot is not a call to the target), then counted while it calls. */
  private async dispatch(job: Job<PacedJob>, token?: string): Promise<DispatchResult> {
    try {
      await this.waitForSlot(job, token);
    } catch (error) {
      if (error instanceof DelayedError || !isRedisUnavailable(error)) throw error;
      return this.pacingUnavailable(job, error as Error, token);
    }
    const target = actionTarget(job.data.action, this.config.slack.defaultWebhookUrl);
    const ticket = await this.bulkhead.enter(target);
    if (!ticket) return this.putBack(job, target, token);
    try {
      return await this.runner.run(job.data, { number: job.attemptsMade + 1, max: job.opts.attempts ?? 1, queuedAt: job.timestamp }, await this.connection());
    } catch (error) {
      if (error instanceof RateLimitedActionError) await this.pacing.holdFor(job.data.action, error.retryAfterMs).catch(() => undefined);
      throw error;
    } finally {
      this.bulkhead.leave(ticket);
    }
  }

  /** Waits 0.5-1 s, then twice as long each time (up to 15-30 s), so a long-hanging target's backlog is not churned. */
  private async putBack(job: Job<PacedJob>, target: string, token?: string): Promise<never> {
    const crowded = (job.data.crowded ?? 0) + 1;
    this.metrics.actionsPutBack.inc({ type: job.data.action.type });
    const delay = Math.min(CROWDED_MAX_DELAY_MS, 1000 * 2 ** (crowded - 1)) * (0.5 + Math.random() / 2);
    this.logger.debug({ eventId: job.data.eventId, ruleId: job.data.ruleId, target: target.split(' ')[0] }, `target slow (${this.bulkhead.perTarget} calls waiting on it): action put back for ${Math.round(delay)} ms`);
    // A Slack send slot reserved before is spent: when the job comes back, it reserves a new one.
    const { slot: _spent, ...data } = job.data;
    const until = Date.now() + delay;
    this.runner.noteWaiting(job.data, { reason: `target slow: put back (${ordinal(crowded)} time), no attempt used`, until }, await this.connection());
    return this.delay(job, { ...data, crowded }, until, token);
  }

  /**
   * Slack pacing could not reserve a send time: Redis is away or out of memory. The message is not
   * sent unpaced, and no attempt is used (its target was not called: an attempt used here made actions
   * fail for good during a Redis out-of-memory spell without ever reaching Slack). Back to the queue
   * for about 5 s, as many times as it takes; its data is left as it is (that write would fail too).
   */
  private async pacingUnavailable(job: Job<PacedJob>, error: Error, token?: string): Promise<never> {
    this.pacingDown.count += 1;
    if (Date.now() - this.pacingDown.warnedAt >= PACING_DOWN_LOG_EVERY_MS) {
      this.logger.warn(
        { eventId: job.data.eventId, ruleId: job.data.ruleId },
        `Slack pacing cannot use Redis (${error.message}): ${this.pacingDown.count} action(s) put back for about ${PACING_DOWN_DELAY_MS / 1000} s since the last such line, no attempt used`,
      );
      this.pacingDown = { count: 0, warnedAt: Date.now() };
    }
    await job.moveToDelayed(Date.now() + PACING_DOWN_DELAY_MS * (0.5 + Math.random()), token);
    throw new DelayedError();
  }

  /** Back to the queue until `at` with `data` kept on the job; no attempt is used. */
  private async delay(job: Job<PacedJob>, data: PacedJob, at: number, token?: string): Promise<never> {
    // Redis out of memory refuses this write but still moves jobs: the job goes back all the same,
    // without its reserved slot or put-back count (it takes a new slot; its next wait starts short).
    await job.updateData(data).catch((error: unknown) => {
      if (!isRedisUnavailable(error)) throw error;
    });
    await job.moveToDelayed(at, token);
    throw new DelayedError();
  }

  /** The worker's own connection, on which BullMQ finishes the job (see ActionRunnerService). */
  private connection(): Promise<Redis> {
    return this.worker.client as unknown as Promise<Redis>;
  }

  /**
   * A slot a few ms away is waited for here: BullMQ wakes delayed jobs late (tens of ms), which at
   * high rates cost more than the wait. A later slot is kept across the delay, so a delayed job
   * never queues again behind later ones.
   */
  private async waitForSlot(job: Job<PacedJob>, token?: string): Promise<void> {
    const action = job.data.action;
    const reserved = job.data.slot?.attempt === job.attemptsMade ? job.data.slot.at : undefined;
    let at = reserved ?? (await this.pacing.sendTime(action));
    // Slack answered 429 since the slot was taken: a new one, after its Retry-After.
    let held = at !== undefined && this.pacing.heldPast(action, at);
    if (held) at = await this.pacing.sendTime(action);
    if (at === undefined || at <= Date.now()) return;
    if (at - Date.now() <= IN_PROCESS_WAIT_MS) {
      await new Promise((resolve) => setTimeout(resolve, at! - Date.now()));
      if (!this.pacing.heldPast(action, at)) return;
      held = true;
      at = (await this.pacing.sendTime(action))!;
    }
    const reason = held
      ? 'Slack answered 429 to this webhook: waiting out its Retry-After'
      : `Slack pacing: ${this.config.slackMaxPerSecond} message(s) per second per webhook`;
    this.runner.noteWaiting(job.data, { reason, until: at }, await this.connection());
    await this.delay(job, { ...job.data, slot: { at, attempt: job.attemptsMade } }, at, token);
  }

  /**
   * A job that failed for good without the runner having recorded it: BullMQ gave up on it after its
   * workers stopped while running it more than MAX_STALLED_COUNT times (process() never saw it), or
   * its last attempt ended before the action was run (an error of ours, not the target's). Its record,
   * metrics and log line are written here, so no action ends failed unreported.
   */
  @OnWorkerEvent('failed')
  onFailed(job: Job<PacedJob> | undefined, error: Error): void {
    if (!job || job.name !== JobName.DispatchAction || this.runner.recordedFailure(error)) return;
    const attempt = { number: job.attemptsMade, max: job.opts.attempts ?? 1, queuedAt: job.timestamp };
    if (job.deferredFailure) {
      const reason = `its worker stopped while running it (killed, or hung past its 30 s lock) ${MAX_STALLED_COUNT + 1} times, and BullMQ gave up on it (${error.message})`;
      return void this.connection().then((connection) => this.runner.abandoned(job.data, attempt, reason, connection));
    }
    if (job.finishedOn === undefined) {
      this.metrics.actions.inc({ type: job.data.action.type, outcome: 'retried' });
      this.logger.warn({ eventId: job.data.eventId, ruleId: job.data.ruleId, attempt: attempt.number }, `action will retry: its attempt ended before it was run: ${error.message}`);
      return;
    }
    void this.connection().then((connection) => this.runner.abandoned(job.data, attempt, `its last attempt ended before it was run: ${error.message}`, connection));
  }

  /** Without a listener a Redis error on the worker would be thrown as an unhandled 'error' event. */
  @OnWorkerEvent('error')
  onError(error: Error): void {
    this.logger.warn(`worker: ${error.message}`);
  }
}

function ordinal(n: number): string {
  const suffix = n % 100 >= 11 && n % 100 <= 13 ? 'th' : ({ 1: 'st', 2: 'nd', 3: 'rd' } as Record<number, string>)[n % 10] ?? 'th';
  return `${n}${suffix}`;
}
