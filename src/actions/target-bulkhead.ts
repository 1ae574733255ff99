import type { RenderedAction } from '../rules/rule.types';

/**
 * Keeps one slow target from taking every slot of a worker: calls to one host may hold at most
 * three quarters of the worker's slots (at least one), so the last quarter always serves the
 * other targets. In-process; each worker counts its own calls.
 */
export class TargetBulkhead {
  readonly perTarget: number;
  private readonly inFlight = new Map<string, number>();

  constructor(concurrency: number) {
    this.perTarget = Math.max(1, Math.floor((concurrency * 3) / 4));
  }

  /** Counts a call to `target` and returns true, or returns false when the target already has its share. */
  tryEnter(target: string): boolean {
    const count = this.inFlight.get(target) ?? 0;
    if (count >= this.perTarget) return false;
    this.inFlight.set(target, count + 1);
    return true;
  }

  leave(target: string): void {
    const count = (this.inFlight.get(target) ?? 1) - 1;
    if (count > 0) this.inFlight.set(target, count);
    else this.inFlight.delete(target);
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
