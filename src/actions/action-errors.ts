/** Base of every error a dispatcher throws; the subclass decides the retry. */
export abstract class ActionError extends Error {
  constructor(
    message: string,
    /** HTTP status of the target's answer, when there was one. */
    readonly statusCode?: number,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Network error, timeout or 5xx: retry with exponential backoff. */
export class TransientActionError extends ActionError {}

/** 4xx other than 429 (a Slack 3xx too), refused by the egress guard, bad rendered action: never retry. */
export class PermanentActionError extends ActionError {}

/** 429: retry no sooner than `retryAfterMs`. */
export class RateLimitedActionError extends ActionError {
  constructor(
    message: string,
    readonly retryAfterMs: number,
    statusCode = 429,
  ) {
    super(message, statusCode);
  }
}
