import { createHash, timingSafeEqual } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import { loggableUrl } from '../common/log-redaction';

/**
 * What a 401 of an admin route asks for: the bearer token, or, for a browser (Bull Board has no
 * way to send a header), HTTP Basic with the token as the password and any user name.
 */
export const ADMIN_CHALLENGES = ['Bearer realm="changelog-reactor admin"', 'Basic realm="changelog-reactor admin", charset="UTF-8"'];
export const ADMIN_REFUSAL = 'admin routes need Authorization: Bearer $ADMIN_TOKEN (or, in a browser, Basic with the token as the password)';

// The admin routes by their route pattern: the events API and Bull Board (its pages, assets and API).
const ADMIN_ROUTE = /^\/(events|admin\/queues)(\/|$)/;

/**
 * Constant-time check of `Authorization: Bearer <token>`, or `Basic` of `<any user>:<token>`
 * (hashing first makes the lengths equal).
 */
export function isAdminAuthorised(header: string | undefined, token: string): boolean {
  const presented = presentedToken(header ?? '');
  if (presented === undefined) return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(presented), digest(token));
}

function presentedToken(header: string): string | undefined {
  const bearer = /^Bearer\s+(.+)$/i.exec(header);
  if (bearer) return bearer[1].trim();
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!basic) return undefined;
  const credentials = Buffer.from(basic[1], 'base64').toString('utf8');
  const colon = credentials.indexOf(':');
  return colon === -1 ? undefined : credentials.slice(colon + 1);
}

/**
 * Refuses an unauthorised request to an admin route when it arrives (onRequest), before its body is
 * read or parsed: a caller without the token gets 401, never a 400, 413 or 415 about a body it had
 * no right to send. With no ADMIN_TOKEN the routes answer 404 (AdminTokenGuard; Bull Board is not
 * mounted).
 */
export function registerAdminAuth(fastify: FastifyInstance, adminToken: string | undefined): void {
  if (!adminToken) return;
  // The same line as any refused request (AllExceptionsFilter): who called the admin routes without the token.
  const logger = new Logger('HTTP');
  fastify.addHook('onRequest', async (request, reply) => {
    const route = request.routeOptions.url;
    if (route === undefined || !ADMIN_ROUTE.test(route)) return;
    if (isAdminAuthorised(request.headers.authorization, adminToken)) return;
    logger.warn({ status: 401 }, `${request.method} ${loggableUrl(request.url)} -> 401: ${ADMIN_REFUSAL}`);
    await reply.code(401).header('www-authenticate', ADMIN_CHALLENGES).send({ statusCode: 401, error: 'Unauthorized', message: ADMIN_REFUSAL });
  });
}
