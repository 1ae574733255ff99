import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter as BullBoardFastifyAdapter } from '@bull-board/fastify';
import { getQueueToken } from '@nestjs/bullmq';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { AppConfig } from '../config/app-config';
import { QueueName } from '../queue/queue-names';

const BASE_PATH = '/admin/queues';

/** Bull Board at /admin/queues, behind the same token as the other admin routes (registerAdminAuth; 404 when ADMIN_TOKEN is unset). */
export async function mountBullBoard(app: NestFastifyApplication, config: AppConfig): Promise<void> {
  if (!config.adminToken) return;
  const serverAdapter = new BullBoardFastifyAdapter().setBasePath(BASE_PATH);
  createBullBoard({
    queues: Object.values(QueueName).map((name) => new BullMQAdapter(app.get<Queue>(getQueueToken(name)))),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'changelog-reactor' } },
  });
  const fastify = app.getHttpAdapter().getInstance() as unknown as FastifyInstance;
  // Behind registerAdminAuth's hook, as every admin route.
  await fastify.register(serverAdapter.registerPlugin(), { prefix: BASE_PATH });
}
