import type { RenderedAction } from '../rules/rule.types';

/** What a dispatcher reports on success; stored in the event record (no secrets). */
export interface DispatchResult {
  statusCode?: number;
  /** Short human summary, e.g. `POST scaler.internal/services/x/scale -> 200`. */
  summary: string;
}

export interface DispatchContext {
  eventId: string;
  ruleId: string;
  /** Stable per (event, rule, action index): use for Idempotency-Key headers. */
  actionKey: string;
}

/**
 * One kind of action (`slack`, `http`, `port`). Throws an `ActionError` subclass on
 * failure so the queue knows whether to retry.
 */
export interface ActionDispatcher<A extends RenderedAction = RenderedAction> {
  readonly type: A['type'];
  dispatch(action: A, context: DispatchContext): Promise<DispatchResult>;
}
