import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { Job, UnrecoverableError } from 'bullmq';
import { EvaluationSummary, EventEvaluationService } from '../rules/event-evaluation.service';
import { EvaluateEventJob } from './job-types';
import { JobName, QueueName } from './queue-names';

/** Consumes change events: diff + rules, then one action job per matched action. */
@Processor(QueueName.Events, { concurrency: 16 })
export class EventProcessor extends WorkerHost {
  private readonly logger = new Logger(EventProcessor.name);

  constructor(private readonly evaluation: EventEvaluationService) {
    super();
  }

  async process(job: Job<EvaluateEventJob>): Promise<EvaluationSummary> {
    switch (job.name) {
      case JobName.EvaluateEvent:
        return this.evaluation.evaluate(job.data.event, job.data.replay ?? 0);
      default:
        throw new UnrecoverableError(`events queue has no handler for job "${job.name}"`);
    }
  }

  /** Without a listener a Redis error on the worker would be thrown as an unhandled 'error' event. */
  @OnWorkerEvent('error')
  onError(error: Error): void {
    this.logger.warn(`worker: ${error.message}`);
  }
}
