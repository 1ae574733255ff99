import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { createApp } from './bootstrap';
import { AppConfig, buildAppConfig } from './config/app-config';
import { loadDotEnv } from './config/dotenv';
import { MetricsService } from './ops/metrics.service';
import { serveApiProcess } from './process/worker-child';
import { WORKER_CHILD_FLAG, WorkerProcess } from './process/worker-process';
import { RulesService } from './rules/rules.service';
import { SourcesService } from './sources/sources.service';

const SHUTDOWN_GRACE_MS = 30_000;
/** How long in-flight requests get to finish on shutdown before their connections are cut. */
const HTTP_DRAIN_MS = 10_000;

async function main(): Promise<void> {
  loadDotEnv();
  const config = buildAppConfig(process.env);
  if (process.argv.includes(WORKER_CHILD_FLAG) && process.send) return runWorkerProcess(config.withRole('worker'));
  // ROLE=all: webhooks here, actions in a process of their own (WORKER_PROCESS=inline keeps both here).
  const split = config.role === 'all' && config.workerProcess === 'child';
  const app = await createApp(split ? config.withRole('api') : config);
  let workers: WorkerProcess | undefined;
  if (split) {
    await app.init(); // a bad rules file is reported once, by this process, before any fork
    workers = await WorkerProcess.start(__filename).catch(async (error: unknown) => {
      await app.close();
      throw error;
    });
    const started = workers;
    app.get(MetricsService).addProcess(() => started.metrics());
    // Compiling a changed rules file blocks this event loop: not a hang (see WorkerProcess.busy).
    app.get(RulesService).whileReloading((busy) => started.busy(busy));
  }
  const stop = handleSignals(app, workers);
  // Without its workers the service would take webhooks that no one acts on: stop, and let the supervisor restart it.
  workers?.onUnexpectedExit((description) => {
    app.get(Logger).error(`${description}: stopping`, 'Main');
    void stop('worker process gone', 1);
  });
  // Nor with workers that no longer run: a hung worker process is ended, and the service with it.
  workers?.onHang(config.workerProcessHangMs, (description) => {
    app.get(Logger).error(`${description}: killing it and stopping`, 'Main');
    workers!.kill();
    void stop('worker process hung', 1);
  });
  await app.listen(config.http.port, config.http.host);
  if (config.runsApi) await app.get(SourcesService).startAll();
  const roleLine = workers ? `role all, workers in process ${workers.pid}` : `role ${config.role}`;
  app.get(Logger).log(`listening on ${config.http.host}:${config.http.port} (${roleLine}, queue prefix ${config.queuePrefix})`, 'Main');
}

/** ROLE=all's worker process: the workers only, no HTTP; the api process that forked it starts and stops it. */
async function runWorkerProcess(config: AppConfig): Promise<void> {
  // The api process may be gone before this one is ready (a SIGTERM while it starts ends it at once):
  // then this one exits, never an orphan taking jobs. A job it may have taken meanwhile goes back to
  // the queue once its lock expires. Once ready, serveApiProcess stops it gracefully instead.
  const orphaned = () => {
    process.stderr.write(`changelog-reactor: the api process ${process.ppid} went away while this worker process was starting: exiting\n`);
    process.exit(1);
  };
  process.once('disconnect', orphaned);
  const app = await createApp(config);
  await app.init();
  process.removeListener('disconnect', orphaned);
  app.flushLogs(); // listen() would; until then Nest keeps every line in memory
  const logError = errorLog(app);
  const stop = onShutdown(async (reason) => {
    app.get(Logger).log(`${reason}: finishing active jobs`, 'Main');
    await app.close();
    process.exit(0);
  }, logError);
  serveApiProcess(app, (reason) => void stop(reason), config.workerProcessHangMs, logError);
  app.get(Logger).log(`workers running (worker process of the api process ${process.ppid}, queue prefix ${config.queuePrefix})`, 'Main');
}

/**
 * Close the sources first (smee's deliveries already read from the channel still reach the HTTP
 * route), then stop taking webhooks (in-flight requests finish), then close the worker process,
 * queues and workers (workers finish their active jobs); Nest's own hooks would close the workers
 * before the HTTP server. Returns the shutdown, which runs once whoever asks.
 */
function handleSignals(app: NestFastifyApplication, workers?: WorkerProcess): Shutdown {
  return onShutdown(async (reason, code = 0) => {
    workers?.expectExit();
    const logger = app.get(Logger);
    logger.log(`${reason}: shutting down: no new events`, 'Main');
    if (app.get(AppConfig).runsApi) await app.get(SourcesService).stopAll();
    await closeHttpServer(app);
    logger.log('HTTP server and sources closed; finishing active jobs', 'Main');
    await workers?.stop();
    await app.close();
    logger.log('stopped', 'Main');
    process.exit(code);
  }, errorLog(app));
}

/** An error line of this process' log, from Main. */
function errorLog(app: NestFastifyApplication): (line: string) => void {
  return (line) => app.get(Logger).error(line, 'Main');
}

type Shutdown = (reason: string, code?: number) => Promise<void>;

/**
 * `stop` on SIGTERM or SIGINT, or when the returned function is called: once, whoever asks first,
 * and with a hard exit if it has not finished within the grace period.
 */
function onShutdown(stop: Shutdown, logError: (line: string) => void): Shutdown {
  let running: Promise<void> | undefined;
  const shutdown: Shutdown = (reason, code) => {
    if (!running) {
      setTimeout(() => {
        // Lines waiting in the log's buffer are written at exit (see logger.options).
        logError(
          `shutdown did not finish within ${SHUTDOWN_GRACE_MS / 1000} s (an action still running, its timeoutMs longer than the time left, or Redis unreachable): exiting with code 1; jobs still held go back to the queue and run again after the restart`,
        );
        process.exit(1);
      }, SHUTDOWN_GRACE_MS).unref();
      running = stop(reason, code);
    }
    return running;
  };
  process.once('SIGTERM', (signal) => void shutdown(signal));
  process.once('SIGINT', (signal) => void shutdown(signal));
  return shutdown;
}

/**
 * Fastify's close() waits for every connection; a client's keep-alive socket that went idle after
 * its last in-flight request (Port, a load balancer) would hold it open for the keep-alive timeout,
 * so idle sockets are swept until the server has closed. Active requests get HTTP_DRAIN_MS to finish
 * (a webhook takes milliseconds); then what is left, such as a client that sent half a body and
 * stopped, is cut, so that the workers still get their time before the hard exit. A cut request was
 * never answered: Port retries it.
 */
async function closeHttpServer(app: NestFastifyApplication): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  const sweeper = setInterval(() => fastify.server.closeIdleConnections(), 100);
  const cutoff = setTimeout(() => fastify.server.closeAllConnections(), HTTP_DRAIN_MS);
  try {
    await fastify.close();
  } finally {
    clearInterval(sweeper);
    clearTimeout(cutoff);
  }
}

main().catch((error: unknown) => {
  // One clear line for configuration and rules-file mistakes; no stack trace for the operator to dig through.
  process.stderr.write(`changelog-reactor: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
