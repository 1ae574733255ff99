import type { Params } from 'nestjs-pino';
import pino, { type DestinationStream } from 'pino';
import { AppConfig } from '../config/app-config';
import { redactSecrets } from './log-redaction';

export function loggerOptions(config: AppConfig): Params {
  return {
    // No route runs nestjs-pino's request middleware: it runs each request inside an AsyncLocalStorage,
    // and on Node 20 and 22 the first such request turns on async hooks for the rest of the process,
    // so that every promise afterwards pays for an init hook. Requests are logged by a Fastify hook
    // instead (ops/request-log.hook.ts); app logs still go through this logger.
    forRoutes: [],
    pinoHttp: [{
      level: config.logLevel,
      // Header values and fields that may carry secrets are replaced before a line is written.
      formatters: { log: redactSecrets },
    }, stdoutDestination(config.logSync)],
  };
}

/** Lines are written once this much is waiting, ... */
const LOG_BATCH_BYTES = 4096;
/** ... or this often, whichever comes first. */
/** Batched lines are written at least this often; exported for whoever must see a line out before acting. */
export const LOG_FLUSH_INTERVAL_MS = 100;
/** Waiting lines beyond this (a log reader that stopped reading) are dropped, not kept or waited for. */
const LOG_MAX_WAITING_BYTES = 16 * 1024 * 1024;
/** Lines dropped in this process because stdout took nothing while LOG_MAX_WAITING_BYTES waited. */
export const droppedLogLines = { count: 0 };

/**
 * Where lines go: stdout, in batches by default. A write per line was a syscall per event (api) and
 * per action (worker), and it stopped the whole process while the log reader did not read (a full
 * pipe). Batched: one write per 4 KiB or per 100 ms, made off the event loop; while the reader does
 * not read, lines wait in memory, up to 16 MiB, then are dropped and counted
 * (`reactor_log_lines_dropped_total`), and webhooks and actions go on. Pino writes what waits at
 * exit, a crash by an uncaught error included; a kill -9 or an out-of-memory abort loses the last
 * 100 ms. An exit while the reader still does not read waits for it (the write in flight cannot be
 * called back), until the supervisor's kill.
 *
 * LOG_SYNC=true writes each line at once, synchronously: no line is lost even to kill -9, and a
 * reader that stops reading stops the service.
 */
function stdoutDestination(sync: boolean): DestinationStream {
  if (sync) return pino.destination({ dest: 1, sync: true });
  const stream = pino.destination({ dest: 1, sync: false, minLength: LOG_BATCH_BYTES, periodicFlush: LOG_FLUSH_INTERVAL_MS, maxLength: LOG_MAX_WAITING_BYTES });
  stream.on('drop', () => (droppedLogLines.count += 1));
  // stdout failing (closed, say) loses the lines; it must not crash the service as an unhandled 'error'.
  stream.on('error', () => undefined);
  return stream;
}
