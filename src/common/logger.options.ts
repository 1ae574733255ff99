import { RequestMethod } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Params } from 'nestjs-pino';
import { AppConfig } from '../config/app-config';

/** Header values and fields that may carry secrets; pino replaces them before a line is written. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-port-signature"]',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'headers.Authorization',
  'webhookUrl',
  '*.webhookUrl',
  'clientSecret',
  '*.clientSecret',
  'accessToken',
  '*.accessToken',
];


export function loggerOptions(config: AppConfig): Params {
  return {
    // Probes and scrapes would drown the log. The webhook skips the per-request middleware too: it
    // cost a quarter of ingest throughput; its outcomes are logged with the event id by the intake
    // service (debug: accepted; info: duplicate) and by the exception filter (warn: refused).
    exclude: [{ method: RequestMethod.GET, path: 'health/*path' }, { method: RequestMethod.GET, path: 'metrics' }, { method: RequestMethod.POST, path: 'webhooks/port' }],
    assignResponse: true,
    pinoHttp: {
      level: config.logLevel,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      genReqId: (req: IncomingMessage) => (req.headers['x-request-id'] as string | undefined) ?? randomUUID(),
      // Request lines keep method, url and id only: bodies and most headers stay out of logs.
      serializers: {
        req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
      },
    },
  };
}
