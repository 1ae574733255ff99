import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AppConfig } from '../config/app-config';
import { verifyPortSignature } from './webhook-signature';

type RawBodyRequest = FastifyRequest & { rawBody?: Buffer };

const REASONS: Record<string, string> = {
  'missing-signature': 'missing x-port-signature header',
  'missing-timestamp': 'missing x-port-timestamp header',
  'bad-timestamp': 'x-port-timestamp is not a Unix time',
  'stale-timestamp': 'x-port-timestamp is more than 5 minutes away from now',
  'bad-signature': 'signature does not match the body',
};

/** Port signs with the org's client secret; checked on the raw bytes before anything is parsed into an event. */
@Injectable()
export class WebhookSignatureGuard implements CanActivate {
  constructor(private readonly config: AppConfig) {}

  canActivate(context: ExecutionContext): boolean {
    if (this.config.webhookSignature === 'off') return true;
    const request = context.switchToHttp().getRequest<RawBodyRequest>();
    const result = verifyPortSignature({
      secret: this.config.port.clientSecret ?? '',
      rawBody: request.rawBody ?? '',
      parsedBody: request.body,
      signatureHeader: header(request, 'x-port-signature'),
      timestampHeader: header(request, 'x-port-timestamp'),
    });
    if (!result.ok) throw new UnauthorizedException(REASONS[result.reason] ?? 'invalid signature');
    return true;
  }
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(' ') : value;
}
