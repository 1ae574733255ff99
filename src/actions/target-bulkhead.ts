import type { RenderedAction } from '../rules/rule.types';

/** A call that has waited this long on its target makes the target count as slow. */
export const SLOW_CALL_MS = 1000;

export interface BulkheadTicket {
  readonly target: string;
  readonly startedAt: number;
}

/**
 * Keeps one slow target from taking every slot of a worker: while a target is slow (a call to it
 * has been waiting SLOW_CALL_MS or more), calls to it may hold at most three quarters of the
 * worker's slots (at least one), so the last quarter keeps serving the other targets.
 *
 * Only a slow target is held to its share: a fast target may fill every slot, as it does whenever
 * the worker itself is the bottleneck (a burst of Slack messages to a healthy webhook).
 * In-process; each worker counts its own calls.
 */
export class TargetBulkhead {
  readonly perTarget: number;
  private readonly inFlight = new Map<string, BulkheadTicket[]>();

  constructor(concurrency: number) {
    this.perTarget = Math.max(1, Math.floor((concurrency * 3) / 4));
  }

  /** A ticket for a call to `target`, or undefined when the target is slow and already holds its share. */
  enter(target: string, now = Date.now()): BulkheadTicket | undefined {
    const calls = this.inFlight.get(target) ?? [];
    // Tickets are appended in time order, so the first is the oldest call still waiting.
    if (calls.length >= this.perTarget && now - calls[0].startedAt >= SLOW_CALL_MS) return undefined;
    const ticket = { target, startedAt: now };
    calls.push(ticket);
    this.inFlight.set(target, calls);
    return ticket;
  }

  leave(ticket: BulkheadTicket): void {
    const calls = this.inFlight.get(ticket.target);
    const index = calls?.indexOf(ticket) ?? -1;
    if (index < 0) return;
    calls!.splice(index, 1);
    if (calls!.length === 0) this.inFlight.delete(ticket.target);
  }
}

/**
 * The host an action calls, as written in the rendered action (a `${NAME}` placeholder stays as it
 * is: one key per variable, never resolved, never logged). Slack without a URL goes to the default.
 */
export function actionTarget(action: RenderedAction, defaultSlackUrl?: string): string {
  switch (action.type) {
    case 'slack':
      return `slack ${hostOf(action.webhookUrl || defaultSlackUrl)}`;
    case 'http':
      return `http ${hostOf(action.url)}`;
    default:
      return action.type;
  }
}

/** The authority of `scheme://host/...`; else what comes before the first `/`, `?` or `#` (e.g. `${SCALER_URL}`). */
function hostOf(url = ''): string {
  const match = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(url) ?? /^([^/?#]*)/.exec(url);
  return (match?.[1] ?? '').toLowerCase();
}
