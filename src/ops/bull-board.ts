import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter as BullBoardFastifyAdapter } from '@bull-board/fastify';
import { getQueueToken } from '@nestjs/bullmq';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Queue } from 'bullmq';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppConfig } from '../config/app-config';
import { isAdminAuthorised } from '../events/admin-token';
import { QueueName } from '../queue/queue-names';

const BASE_PATH = '/admin/queues';

/** Bull Board at /admin/queues, behind the same bearer token as the other admin routes (404 when ADMIN_TOKEN is unset). */
export async function mountBullBoard(app: NestFastifyApplication, config: AppConfig): Promise<void> {
  const adminToken = config.adminToken;
  if (!adminToken) return;
  const serverAdapter = new BullBoardFastifyAdapter().setBasePath(BASE_PATH);
  createBullBoard({
    queues: Object.values(QueueName).map((name) => new BullMQAdapter(app.get<Queue>(getQueueToken(name)))),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'changelog-reactor' } },
  });
  const fastify = app.getHttpAdapter().getInstance() as unknown as FastifyInstance;
  await fastify.register(async (scope) => {
    scope.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      if (!isAdminAuthorised(request.headers.authorization, adminToken)) {
        await reply.code(401).send({ statusCode: 401, error: 'Unauthorized', message: 'admin routes need Authorization: Bearer $ADMIN_TOKEN' });
      }
    });
    await scope.register(serverAdapter.registerPlugin(), { prefix: BASE_PATH });
  });
}
