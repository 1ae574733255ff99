import type { ChangeEvent } from '../changes/change-event';
import type { RenderedAction } from '../rules/rule.types';
import { JobName } from './queue-names';

export interface EvaluateEventJob {
  event: ChangeEvent;
  /** Set by POST /events/:id/replay: the n-th replay gets its own action job ids. */
  replay?: number;
}

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

/** Job name -> payload, so handlers and `queue.add` are typed together. */
export interface JobPayloads {
  [JobName.EvaluateEvent]: EvaluateEventJob;
  [JobName.DispatchAction]: DispatchActionJob;
}

export type JobOf<N extends JobName> = JobPayloads[N];
