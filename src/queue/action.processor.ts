import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger, OnApplicationBootstrap } from '@nestjs/common';
import { DelayedError, Job, UnrecoverableError } from 'bullmq';
import type Redis from 'ioredis';
import { actionBackoff } from '../actions/action-backoff';
import { DispatchResult } from '../actions/action-dispatcher';
import { ActionRunnerService } from '../actions/action-runner.service';
import { SlackPacingService } from '../actions/slack/slack-pacing.service';
import { AppConfig } from '../config/app-config';
import { DispatchActionJob } from './job-types';
import { JobName, QueueName } from './queue-names';

const IN_PROCESS_WAIT_MS = 250;

type PacedJob = DispatchActionJob & { slot?: { at: number; attempt: number } };

/** Consumes action jobs, WORKER_CONCURRENCY at once; Slack sends are paced per webhook before they run. */
@Processor(QueueName.Actions, { concurrency: 32, settings: { backoffStrategy: actionBackoff } })
export class ActionProcessor extends WorkerHost implements OnApplicationBootstrap {
  private readonly logger = new Logger(ActionProcessor.name);

  constructor(
    private readonly runner: ActionRunnerService,
    private readonly pacing: SlackPacingService,
    private readonly config: AppConfig,
  ) {
    super();
  }

  /** The decorator's options are fixed at compile time; BullMQ's worker reads its concurrency on every fetch. */
  onApplicationBootstrap(): void {
    this.worker.concurrency = this.config.workerConcurrency;
  }

  async process(job: Job<PacedJob>, token?: string): Promise<DispatchResult> {
    switch (job.name) {
      case JobName.DispatchAction:
        await this.waitForSlot(job, token);
        return this.runner.run(job.data, { number: job.attemptsMade + 1, max: job.opts.attempts ?? 1, queuedAt: job.timestamp }, await this.connection());
      default:
        throw new UnrecoverableError(`actions queue has no handler for job "${job.name}"`);
    }
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
    const reserved = job.data.slot?.attempt === job.attemptsMade ? job.data.slot.at : undefined;
    const at = reserved ?? (await this.pacing.sendTime(job.data.action));
    if (at === undefined || at <= Date.now()) return;
    const wait = at - Date.now();
    if (wait <= IN_PROCESS_WAIT_MS) return new Promise((resolve) => setTimeout(resolve, wait));
    await job.updateData({ ...job.data, slot: { at, attempt: job.attemptsMade } });
    await job.moveToDelayed(at, token);
    throw new DelayedError();
  }

  /** Without a listener a Redis error on the worker would be thrown as an unhandled 'error' event. */
  @OnWorkerEvent('error')
  onError(error: Error): void {
    this.logger.warn(`worker: ${error.message}`);
  }
}
