import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { QueueUnavailableError } from '../ingest/event-intake.service';
import { isRedisUnavailable, redisUnavailableReason } from './redis-unavailable';
import { loggableUrl } from './log-redaction';

interface FastifyError {
  statusCode?: number;
  code?: string;
  message: string;
}

/** One place that turns errors into HTTP answers; no stack trace or internal message leaves. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    const { status, body } = this.describe(exception);
    const where = `${request.method} ${loggableUrl(request.url)}`;
    if (status >= 500) this.logger.error({ status }, `${where} -> ${status}: ${exception instanceof Error ? exception.message : 'unknown error'}`);
    else if (status !== 404) this.logger.warn({ status }, `${where} -> ${status}: ${(body as { message?: unknown }).message ?? ''}`);
    // JSON even where the route declared another type (/metrics: text/plain), which would refuse an object.
    void reply.status(status).type('application/json; charset=utf-8').send(body);
  }

  private describe(exception: unknown): { status: number; body: object } {
    if (exception instanceof HttpException) {
      const response = exception.getResponse();
      const body = typeof response === 'string' ? { statusCode: exception.getStatus(), message: response } : response;
      return { status: exception.getStatus(), body };
    }
    // Admin routes read Redis directly, so their Redis errors arrive here unwrapped.
    if (exception instanceof QueueUnavailableError || isRedisUnavailable(exception)) {
      return answer(HttpStatus.SERVICE_UNAVAILABLE, 'Service Unavailable', `${redisUnavailableReason(exception)}; retry later`);
    }
    const fastify = exception as FastifyError;
    if (typeof fastify?.statusCode === 'number' && fastify.statusCode >= 400 && fastify.statusCode < 500) {
      // Fastify's own 4xx (body too large, unsupported media type, malformed JSON) carry safe messages.
      return answer(fastify.statusCode, fastify.code ?? 'Bad Request', fastify.message);
    }
    return answer(HttpStatus.INTERNAL_SERVER_ERROR, 'Internal Server Error', 'internal error');
  }
}

function answer(statusCode: number, error: string, message: string) {
  return { status: statusCode, body: { statusCode, error, message } };
}
