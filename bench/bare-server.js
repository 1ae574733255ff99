'use strict';
// Baselines: bare Fastify that parses the JSON body and answers 202 (MODE=bare), or that also
// awaits a BullMQ add of the body first (MODE=add), the floor any durable ingest pays.
const Fastify = require('fastify');
const { Queue } = require('bullmq');

const queue = process.env.MODE === 'add'
  ? new Queue('bare', { connection: { host: '127.0.0.1', port: 6379, enableOfflineQueue: false }, prefix: process.env.QUEUE_PREFIX })
  : undefined;
const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
app.post('/webhooks/port', async (request, reply) => {
  if (queue) await queue.add('event', request.body, { removeOnComplete: true });
  return reply.code(202).send({ eventId: 'x', duplicate: false });
});
app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' }).then(() => process.send?.('ready'));
// An orderly exit, so that a profile asked for with BENCH_NODE_ARGS is written.
process.on('SIGTERM', () => process.exit(0));
