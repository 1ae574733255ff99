import { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { MetricsService } from './metrics.service';

const WEBHOOK_ROUTE = '/webhooks/port';
const REJECTIONS: Record<number, string> = {
  400: 'rejected_invalid',
  401: 'rejected_signature',
  413: 'rejected_too_large',
  415: 'rejected_not_json',
  503: 'rejected_redis_unavailable',
};

/** Ingest latency and refusals are seen best where Fastify answers; accepted and duplicate are counted by the intake. */
export function registerWebhookMetrics(app: NestFastifyApplication): void {
  const metrics = app.get(MetricsService);
  app.getHttpAdapter().getInstance().addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.method !== 'POST' || request.url.split('?')[0] !== WEBHOOK_ROUTE) return;
    if (reply.statusCode === 202) {
      metrics.ingestDuration.observe(reply.elapsedTime / 1000);
      return;
    }
    metrics.eventsReceived.inc({ source: 'webhook', outcome: REJECTIONS[reply.statusCode] ?? `rejected_${reply.statusCode}` });
  });
}
