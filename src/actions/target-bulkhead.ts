import type { RenderedAction } from '../rules/rule.types';

/** A call that has waited this long on its target makes the target count as slow. */
export const SLOW_CALL_MS = 1000;
/** How long a call over its target's share waits in the worker for one of the target's calls to finish. */
export const SHARE_WAIT_MS = 250;

export interface BulkheadTicket {
  readonly target: string;
  readonly startedAt: number;
}

interface Waiter {
  grant: (ticket: BulkheadTicket | undefined) => void;
  timer: NodeJS.Timeout;
}

/**
 * Keeps one target from taking every slot of a worker: calls to one target may hold at most three
 * quarters of the worker's slots (at least one), so the last quarter keeps serving the other
 * targets, from the first moment a target hangs.
 *
 * A call over its target's share is turned away at once (undefined: the caller puts it back in the
 * queue) when the target is slow: a call to it has been waiting SLOW_CALL_MS or more. When it is not
 * slow (a healthy target that is simply busy, as in a burst of Slack messages), the call waits up to
 * SHARE_WAIT_MS for one of the target's calls to finish and takes its place; only if none does is it
 * turned away. In-process; each worker counts its own calls.
 */
export class TargetBulkhead {
  readonly perTarget: number;
  private readonly inFlight = new Map<string, BulkheadTicket[]>();
  private readonly waiting = new Map<string, Waiter[]>();

  constructor(
    concurrency: number,
    private readonly waitMs = SHARE_WAIT_MS,
  ) {
    this.perTarget = Math.max(1, Math.floor((concurrency * 3) / 4));
  }

  /**
   * A ticket for a call to `target`: at once while the target holds less than its share; else, if
   * the target is not slow, once one of its calls leaves within the wait. Undefined: put the call back.
   */
  enter(target: string, now = Date.now()): Promise<BulkheadTicket | undefined> {
    const calls = this.inFlight.get(target);
    if (!calls || calls.length < this.perTarget) return Promise.resolve(this.admit(target, now));
    // Tickets are appended in time order, so the first is the oldest call still waiting.
    if (now - calls[0].startedAt >= SLOW_CALL_MS) return Promise.resolve(undefined);
    return new Promise((grant) => {
      const queue = this.waiting.get(target) ?? [];
      const waiter: Waiter = {
        grant,
        timer: setTimeout(() => {
          queue.splice(queue.indexOf(waiter), 1);
          if (queue.length === 0) this.waiting.delete(target);
          grant(undefined);
        }, this.waitMs),
      };
      queue.push(waiter);
      this.waiting.set(target, queue);
    });
  }

  /** Ends a call: its place goes to the longest-waiting call to the same target, if any. */
  leave(ticket: BulkheadTicket): void {
    const calls = this.inFlight.get(ticket.target);
    const index = calls?.indexOf(ticket) ?? -1;
    if (index < 0) return;
    calls!.splice(index, 1);
    if (calls!.length === 0) this.inFlight.delete(ticket.target);
    const queue = this.waiting.get(ticket.target);
    const next = queue?.shift();
    if (!next) return;
    if (queue!.length === 0) this.waiting.delete(ticket.target);
    clearTimeout(next.timer);
    next.grant(this.admit(ticket.target, Date.now()));
  }

  private admit(target: string, now: number): BulkheadTicket {
    const ticket = { target, startedAt: now };
    const calls = this.inFlight.get(target);
    if (calls) calls.push(ticket);
    else this.inFlight.set(target, [ticket]);
    return ticket;
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
