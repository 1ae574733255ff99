import { CanActivate, ExecutionContext, Injectable, NotFoundException, UnauthorizedException } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AppConfig } from '../config/app-config';
import { ADMIN_REFUSAL, isAdminAuthorised } from './admin-token';

/** Admin routes: 404 when no ADMIN_TOKEN is configured (they do not exist), 401 without the token (registerAdminAuth refuses first, before the body). */
@Injectable()
export class AdminTokenGuard implements CanActivate {
  constructor(private readonly config: AppConfig) {}

  canActivate(context: ExecutionContext): boolean {
    if (!this.config.adminToken) throw new NotFoundException();
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    if (!isAdminAuthorised(request.headers.authorization, this.config.adminToken)) {
      throw new UnauthorizedException(ADMIN_REFUSAL);
    }
    return true;
  }
}
