import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { loggableUrl } from '../common/log-redaction';

/**
 * Requests not logged here: the webhook (the intake logs each event with its id, the exception filter
 * each refusal), probes and scrapes (they would drown the log).
 */
function quiet(method: string, route: string | undefined): boolean {
  if (route === undefined) return false; // no route matched: a 404 is worth a line
  if (method === 'POST') return route === '/webhooks/port';
  return method === 'GET' && (route === '/metrics' || route.startsWith('/health/'));
}

/**
 * One line per answered request (admin routes, API docs, Bull Board, unknown paths), in pino-http's
 * shape: `req` (id, method, url; no headers, no body), `res.statusCode`, `responseTime` in ms. The id
 * is the `x-request-id` header when the caller sent one (see `createApp`).
 *
 * A Fastify hook rather than nestjs-pino's middleware: see `loggerOptions`.
 */
export function registerRequestLog(app: NestFastifyApplication): void {
  const logger = new Logger('HTTP');
  app.getHttpAdapter().getInstance().addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
    // The matched route's pattern: no query string to cut off on every webhook.
    if (quiet(request.method, request.routeOptions.url)) return;
    const line = {
      req: { id: request.id, method: request.method, url: loggableUrl(request.url) },
      res: { statusCode: reply.statusCode },
      responseTime: Math.round(reply.elapsedTime),
    };
    if (reply.statusCode >= 500) logger.error(line, 'request errored');
    else logger.log(line, 'request completed');
  });
}
