import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { MetricsService } from '../ops/metrics.service';
import type { FromWorker, ToWorker } from './worker-process';

/**
 * The worker process' side of ROLE=all: tells the api process its workers run, answers its pings
 * (from this event loop: a hung one does not answer) and metrics requests, and stops on its
 * request, or when the api process is gone (its channel closes), so a killed api process never
 * leaves an orphan taking jobs.
 */
export function serveApiProcess(app: NestFastifyApplication, stop: (reason: string) => void): void {
  const registry = app.get(MetricsService).registry;
  const reply = (message: FromWorker) => {
    if (process.connected) process.send!(message);
  };
  process.on('message', (message: ToWorker) => {
    if (message.type === 'stop') return stop('the api process asked');
    if (message.type === 'ping') return reply({ type: 'pong' });
    if (message.type === 'metrics') {
      registry.getMetricsAsJSON().then(
        (metrics) => reply({ type: 'metrics', id: message.id, metrics }),
        (error: unknown) => reply({ type: 'metrics', id: message.id, error: error instanceof Error ? error.message : String(error) }),
      );
    }
  });
  process.once('disconnect', () => stop('the api process is gone'));
  reply({ type: 'ready' });
}
