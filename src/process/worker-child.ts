import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { MetricsService } from '../ops/metrics.service';
import { RulesService } from '../rules/rules.service';
import type { FromWorker, ToWorker } from './worker-process';

/**
 * The worker process' side of ROLE=all: tells the api process its workers run, answers its pings
 * (from this event loop: a hung one does not answer) and metrics requests, and stops on its
 * request, or when the api process is gone (its channel closes), so a killed api process never
 * leaves an orphan taking jobs.
 *
 * It also watches the api process by its pings: one whose event loop is blocked for good (a rule's
 * jq that never ends: jq 1.6 has no time limit) would hold its port and answer nothing, with no exit
 * for a supervisor to see. After `hangMs` without a ping it is killed (SIGKILL), and this process
 * stops with it, so that the service restarts.
 */
export function serveApiProcess(app: NestFastifyApplication, stop: (reason: string) => void, hangMs: number, logError: (line: string) => void): void {
  const registry = app.get(MetricsService).registry;
  const reply = (message: FromWorker) => {
    if (process.connected) process.send!(message);
  };
  const watch = watchApiProcess(hangMs, (silentMs) => {
    logError(`the api process ${process.ppid} has sent no ping for ${Math.round(silentMs / 1000)} s (its event loop is blocked: a rule's jq that never ends?): killing it and stopping`);
    try {
      process.kill(process.ppid, 'SIGKILL');
    } catch {
      // Gone already: the channel's close stops this process.
    }
    stop('the api process hung');
  });
  process.on('message', (message: ToWorker) => {
    if (message.type === 'stop') {
      watch.disarm();
      return stop('the api process asked');
    }
    if (message.type === 'ping') {
      watch.pinged();
      return reply({ type: 'pong' });
    }
    if (message.type === 'busy') return watch.busy(message.busy);
    if (message.type === 'metrics') {
      registry.getMetricsAsJSON().then(
        (metrics) => reply({ type: 'metrics', id: message.id, metrics }),
        (error: unknown) => reply({ type: 'metrics', id: message.id, error: error instanceof Error ? error.message : String(error) }),
      );
    }
  });
  app.get(RulesService).whileReloading((busy) => reply({ type: 'busy', busy }));
  process.once('disconnect', () => {
    watch.disarm();
    stop('the api process is gone');
  });
  reply({ type: 'ready' });
}

/**
 * Calls `onSilent` once when no ping came for `hangMs`, counted from the first ping (the api process
 * starts pinging once this one is ready), checked as often as the api process pings. A stall of this
 * process's own event loop does not count against the api process (its pings wait unread meanwhile).
 */
function watchApiProcess(hangMs: number, onSilent: (silentMs: number) => void): { pinged(): void; busy(busy: boolean): void; disarm(): void } {
  const every = Math.min(5_000, Math.max(250, Math.floor(hangMs / 4)));
  let lastPing: number | undefined;
  let busy = false;
  let lastTick = Date.now();
  const timer = setInterval(() => {
    const now = Date.now();
    if (lastPing !== undefined && (busy || now - lastTick > 2 * every)) lastPing = Math.max(lastPing, busy ? now : now - every);
    lastTick = now;
    if (lastPing === undefined || now - lastPing <= hangMs) return;
    clearInterval(timer);
    onSilent(now - lastPing);
  }, every).unref();
  return {
    pinged: () => void (lastPing = Date.now()),
    // Blocked on purpose (see WorkerProcess.busy): counted again from when it is done.
    busy: (value) => {
      busy = value;
      if (lastPing !== undefined) lastPing = Date.now();
    },
    disarm: () => clearInterval(timer),
  };
}
