import { setTimeout as sleep } from 'node:timers/promises';
import { RateLimitedActionError } from '../actions/action-errors';

/**
 * Runs `call`, and on a 429 waits its Retry-After (abortably) and calls again; after `maxWaits`
 * waits in a row the 429 is thrown. Other errors are thrown at once.
 */
export async function waitingOutRateLimits<T>(
  call: () => Promise<T>,
  options: { signal?: AbortSignal; maxWaits?: number; onWait?: (ms: number) => void } = {},
): Promise<T> {
  for (let waits = 0; ; waits++) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof RateLimitedActionError) || waits >= (options.maxWaits ?? 10)) throw error;
      options.onWait?.(error.retryAfterMs);
      await sleep(error.retryAfterMs, undefined, { signal: options.signal });
    }
  }
}
