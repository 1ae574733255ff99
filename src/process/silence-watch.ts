/**
 * One process of ROLE=all watching the other by what it hears from it: `onSilent` runs once when
 * nothing was heard for `hangMs` (an endless loop, a stopped process), `onTick` at each check before
 * that (the api process pings there). Checks run every quarter of `hangMs` (0.25-5 s). Neither a stall
 * of this process's own event loop (a long GC, a paused debugger: what the other sent waits unread)
 * nor a time the other said it blocks on purpose (`setBusy`: a rules file compiling) counts as the
 * other's silence. Unarmed, it counts only from the first `heard()`.
 */
export class SilenceWatch {
  private readonly every: number;
  private readonly timer: NodeJS.Timeout;
  private lastHeard?: number;
  private lastTick = Date.now();
  private busy = false;

  constructor(
    private readonly hangMs: number,
    private readonly handlers: { onTick?: () => void; onSilent: (silentMs: number) => void },
    options: { armed: boolean },
  ) {
    this.every = Math.min(5_000, Math.max(250, Math.floor(hangMs / 4)));
    if (options.armed) this.lastHeard = Date.now();
    this.timer = setInterval(() => this.check(), this.every).unref();
  }

  heard(): void {
    this.lastHeard = Date.now();
  }

  /** The other process blocks its event loop on purpose (true) or is done (false); counted again from now. */
  setBusy(busy: boolean): void {
    this.busy = busy;
    if (this.lastHeard !== undefined) this.lastHeard = Date.now();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private check(): void {
    const now = Date.now();
    if (this.lastHeard !== undefined) {
      if (now - this.lastTick > 2 * this.every) this.lastHeard = Math.max(this.lastHeard, now - this.every);
      if (this.busy) this.lastHeard = now;
    }
    this.lastTick = now;
    if (this.lastHeard === undefined || now - this.lastHeard <= this.hangMs) return this.handlers.onTick?.();
    this.stop();
    this.handlers.onSilent(now - this.lastHeard);
  }
}
