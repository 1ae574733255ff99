import { NestFactory } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { AppConfig } from './config/app-config';
import { mountBullBoard } from './ops/bull-board';
import { setupOpenApi } from './ops/openapi';
import { registerRequestLog } from './ops/request-log.hook';
import { registerWebhookMetrics } from './ops/webhook-metrics.hook';
import { coalesceRedisWrites } from './queue/redis-write-coalescing';

/** Builds the Nest app on Fastify without listening, so tests can `inject()` into the same app main.ts runs. */
export async function createApp(config: AppConfig, options: { bufferLogs?: boolean } = {}): Promise<NestFastifyApplication> {
  coalesceRedisWrites();
  const adapter = new FastifyAdapter({
    bodyLimit: config.http.bodyLimitBytes,
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
  app.useBodyParser('application/json', { bodyLimit: config.http.bodyLimitBytes }, (req, body, done) =>
    parseJson(req as Parameters<typeof parseJson>[0], body.toString('utf8'), done),
  );
  fastify.removeContentTypeParser('text/plain');
  registerRequestLog(app);
  if (config.runsApi) {
    setupOpenApi(app);
    registerWebhookMetrics(app);
    await mountBullBoard(app, config);
  }
  return app;
}
