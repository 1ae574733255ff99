import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { LOG_FLUSH_INTERVAL_MS } from '../common/logger.options';
import { MetricsService } from '../ops/metrics.service';
import { RulesService } from '../rules/rules.service';
import { SilenceWatch } from './silence-watch';
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
  // Armed by the first ping: the api process starts pinging once this one is ready.
  const watch = new SilenceWatch(hangMs, {
    onSilent: (silentMs) => {
      logError(`the api process ${process.ppid} has sent no ping for ${Math.round(silentMs / 1000)} s (its event loop is blocked: a rule's jq that never ends?): killing it and stopping`);
      // Once the line is out (lines are written in batches): the reason is in the log before the kill.
      setTimeout(() => {
        try {
          process.kill(process.ppid, 'SIGKILL');
        } catch {
          // Gone already: the channel's close stops this process.
        }
        stop('the api process hung');
      }, 2 * LOG_FLUSH_INTERVAL_MS);
    },
  }, { armed: false });
  process.on('message', (message: ToWorker) => {
    if (message.type === 'stop') {
      watch.stop();
      return stop('the api process asked');
    }
    if (message.type === 'ping') {
      watch.heard();
      return reply({ type: 'pong' });
    }
    if (message.type === 'busy') return watch.setBusy(message.busy);
    if (message.type === 'metrics') {
      registry.getMetricsAsJSON().then(
        (metrics) => reply({ type: 'metrics', id: message.id, metrics }),
        (error: unknown) => reply({ type: 'metrics', id: message.id, error: error instanceof Error ? error.message : String(error) }),
      );
    }
  });
  app.get(RulesService).whileReloading((busy) => reply({ type: 'busy', busy }));
  process.once('disconnect', () => {
    watch.stop();
    stop('the api process is gone');
  });
  reply({ type: 'ready' });
}
