import type { JobsOptions } from 'bullmq';
import { ACTION_BACKOFF_TYPE } from '../actions/action-backoff';

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
 * An action job: our backoff (exponential with jitter, never sooner than a 429's Retry-After),
 * registered on the actions worker; deduplicated by its key for the dedupe window, so a
 * redelivered event never adds an action again, even after retention removed the finished job.
 */
export function actionJobOptions(key: string, retry: RetrySettings, dedupeTtlMs: number): JobsOptions {
  return {
    ...DEFAULT_JOB_OPTIONS,
    jobId: key,
    attempts: retry.attempts,
    backoff: { type: ACTION_BACKOFF_TYPE, delay: retry.baseDelayMs },
    deduplication: { id: key, ttl: dedupeTtlMs },
  };
}
