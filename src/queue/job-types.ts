import type { RenderedAction } from '../rules/rule.types';

export interface DispatchActionJob {
  eventId: string;
  ruleId: string;
  actionIndex: number;
  replay: number;
  /** Rendered action; `${NAME}` secret placeholders are resolved only by the dispatcher. */
  action: RenderedAction;
  /** When the event was received, for receipt-to-dispatch latency. */
  receivedAt: string;
}
