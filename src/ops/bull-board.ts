import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter as BullBoardFastifyAdapter } from '@bull-board/fastify';
import { getQueueToken } from '@nestjs/bullmq';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Queue } from 'bullmq';
import type { FastifyInstance, onRequestAsyncHookHandler } from 'fastify';
import { AppConfig } from '../config/app-config';
import { QueueName } from '../queue/queue-names';

const BASE_PATH = '/admin/queues';

/**
 * Bull Board's routes that put data into a job: adding one, replacing a job's data, changing a job
 * scheduler's template. A worker fills `${NAME}`s in an action from the environment, so a job written
 * here could send the service's own secrets (PORT_CLIENT_SECRET, REDIS_URL) to any allowed host, or
 * patch Port with its credentials: the admin token is for seeing, retrying and replaying, and an
 * action's data comes from the rules file only. Retry, promote, clean, pause and the rest are kept.
 */
const JOB_DATA_ROUTES = new Set([
  `POST ${BASE_PATH}/api/queues/:queueName/add`,
  `PATCH ${BASE_PATH}/api/queues/:queueName/:jobId/update-data`,
  `PATCH ${BASE_PATH}/api/queues/:queueName/job-schedulers/:schedulerId`,
]);
const JOB_DATA_REFUSED =
  "this service's Bull Board does not add jobs or change a job's data: an action's data comes from the rules file only (retry, promote, clean and pause are available; POST /events/:eventId/replay runs an event's rules again)";

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
  // By the route matched, so no spelling of its path (case, `//`, encoding) gets past it.
  fastify.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (!methods.some((method) => JOB_DATA_ROUTES.has(`${method} ${route.url}`))) return;
    const refuse: onRequestAsyncHookHandler = async (_request, reply) => reply.code(403).send({ statusCode: 403, error: 'Forbidden', message: JOB_DATA_REFUSED });
    const own = route.onRequest ?? [];
    route.onRequest = [...(Array.isArray(own) ? own : [own]), refuse];
  });
  // Behind registerAdminAuth's hook, as every admin route.
  await fastify.register(serverAdapter.registerPlugin(), { prefix: BASE_PATH });
}
