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
    }, stdoutDestination()],
  };
}

/**
 * Lines go to stdout synchronously, one write each. Pino's default hands every line to the libuv
 * threadpool and back, two thread wake-ups per line; with a line per event (api) and per action
 * (worker) that cost more than the write itself: 2-4% of a process's CPU at 500 events/s, measured in
 * three alternated runs. A line is also never lost in a crash. The cost: a log reader that stops
 * reading (a full pipe) stalls the process instead of growing a buffer in it.
 */
function stdoutDestination(): DestinationStream {
  return pino.destination({ dest: 1, sync: true });
}
