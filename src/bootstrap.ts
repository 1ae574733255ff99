import { NestFactory } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { isPoisoning, POISONING_REFUSED } from './common/json-text';
import { AppConfig } from './config/app-config';
import { registerAdminAuth } from './events/admin-token';
import { mountBullBoard } from './ops/bull-board';
import { setupOpenApi } from './ops/openapi';
import { registerRequestLog } from './ops/request-log.hook';
import { registerWebhookMetrics } from './ops/webhook-metrics.hook';
import { coalesceRedisWrites } from './queue/redis-write-coalescing';

/** Builds the Nest app on Fastify without listening, so tests can `inject()` into the same app main.ts runs. */
export async function createApp(config: AppConfig, options: { bufferLogs?: boolean } = {}): Promise<NestFastifyApplication> {
  coalesceRedisWrites();
  const requestTimeout = config.http.requestTimeoutMs;
  const adapter = new FastifyAdapter({
    bodyLimit: config.http.bodyLimitBytes,
    // An `/events/:eventId` longer than Fastify's default 100 characters was a 414 labelled "Bad
    // Request" echoing the path; up to this length it is the route's own 404 (no such record).
    routerOptions: { maxParamLength: 1_024 },
    // A request must be in whole (headers and body) within requestTimeout, else 408 and the
    // connection closes. Fastify only sets Node's server.requestTimeout after creating the server;
    // set that way, with headersTimeout left at 60 s, Node 20 did not enforce it in our tests (a
    // client that sent headers and half a body held its socket past 75 s). Given to createServer
    // with a headersTimeout no longer, it is enforced; checked every second, not every 30 s.
    requestTimeout,
    http: { requestTimeout, headersTimeout: requestTimeout, connectionsCheckingInterval: Math.min(1_000, requestTimeout) },
    return503OnClosing: true,
    // Request ids in log lines: the caller's x-request-id, or a fresh UUID.
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    // No Nest middleware runs here (request logs are a Fastify hook, nestjs-pino's middleware has no
    // routes): without middie, no request walks its empty middleware chain (2% of the api's CPU).
    skipMiddie: true,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.register(config), adapter, {
    rawBody: true,
    bufferLogs: options.bufferLogs ?? true,
    abortOnError: false,
  });
  app.useLogger(app.get(Logger));
  // Port sends JSON only: anything else is 415, not a string or form body that fails validation.
  // The JSON parser is Nest's own (it keeps the raw body, for signatures), registered here: at init
  // Nest would register it together with a form parser.
  const fastify = app.getHttpAdapter().getInstance();
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  app.useBodyParser('application/json', { bodyLimit: config.http.bodyLimitBytes }, (req, body, done) => {
    const text = body.toString('utf8');
    parseJson(req as Parameters<typeof parseJson>[0], text, (error, parsed) => done(error && isPoisoning(text) ? poisoningRefused() : error, parsed));
  });
  fastify.removeContentTypeParser('text/plain');
  registerRequestLog(app);
  registerAdminAuth(fastify as unknown as FastifyInstance, config.adminToken);
  if (config.runsApi) {
    setupOpenApi(app);
    registerWebhookMetrics(app);
    await mountBullBoard(app, config);
  }
  return app;
}

/** Fastify refuses a poisoning key with the same words as broken JSON; a sender whose JSON is fine deserves the real reason. */
function poisoningRefused(): Error & { statusCode: number; code: string } {
  return Object.assign(new Error(POISONING_REFUSED), {
    statusCode: 400,
    code: 'FST_ERR_CTP_INVALID_JSON_BODY',
  });
}
