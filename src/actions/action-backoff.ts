import type { MinimalJob } from 'bullmq';
import { RateLimitedActionError } from './action-errors';

export const ACTION_BACKOFF_TYPE = 'action-retry';
export const ACTION_BACKOFF_BASE_MS = 2_000;
const MAX_DELAY_MS = 10 * 60_000;

/**
 * Exponential backoff with jitter (a delay drawn from the upper half of base·2^(n-1), so retries
 * of a burst spread out), never sooner than a 429's Retry-After.
 */
export function actionBackoff(attemptsMade: number, _type?: string, error?: Error, job?: MinimalJob): number {
  const base = (job?.opts.backoff as { delay?: number } | undefined)?.delay ?? ACTION_BACKOFF_BASE_MS;
  const ceiling = Math.min(base * 2 ** Math.max(0, attemptsMade - 1), MAX_DELAY_MS);
  const jittered = Math.floor(ceiling / 2 + Math.random() * (ceiling / 2));
  return error instanceof RateLimitedActionError ? Math.max(jittered, error.retryAfterMs) : jittered;
}
