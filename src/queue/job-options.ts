import type { JobsOptions } from 'bullmq';
import { ACTION_BACKOFF_TYPE } from '../actions/action-backoff';
import { JobName } from './queue-names';

const HOUR = 3600;
const DAY = 24 * HOUR;

/** Every queue's defaults: keep recent successes briefly, failures long enough to inspect. */
export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  removeOnComplete: { age: HOUR, count: 10_000 },
  removeOnFail: { age: 7 * DAY, count: 50_000 },
};

export interface RetrySettings {
  attempts: number;
  baseDelayMs: number;
}

/**
 * Per job name. Evaluation: BullMQ's exponential backoff with jitter. Actions: our strategy
 * (exponential with jitter, never sooner than a 429's Retry-After), registered on the actions worker.
 */
export function jobOptions(name: JobName, jobId: string, actionRetry?: RetrySettings): JobsOptions {
  switch (name) {
    case JobName.EvaluateEvent:
      return { ...DEFAULT_JOB_OPTIONS, jobId, attempts: 5, backoff: { type: 'exponential', delay: 1_000, jitter: 0.5 } };
    case JobName.DispatchAction:
      return {
        ...DEFAULT_JOB_OPTIONS,
        jobId,
        attempts: actionRetry?.attempts ?? 8,
        backoff: { type: ACTION_BACKOFF_TYPE, delay: actionRetry?.baseDelayMs ?? 2_000 },
      };
  }
}
