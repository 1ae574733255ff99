'use strict';
// The end-to-end baseline: bare Fastify -> awaited BullMQ add -> BullMQ worker -> undici POST to the Slack mock.
// SPLIT=1: the worker runs in a process this one forks, as ROLE=all forks its workers, so that the
// cost of that second process can be told apart from the cost of the service's own work.
const { fork } = require('node:child_process');
const Fastify = require('fastify');
const { Queue, Worker } = require('bullmq');
const { request } = require('undici');

const connection = { host: '127.0.0.1', port: 6379 };
const prefix = process.env.QUEUE_PREFIX;
const slackUrl = process.env.SLACK_URL;
const workerOnly = process.argv[2] === '--worker';

if (process.env.SPLIT !== '1' || workerOnly) {
  new Worker(
    'baseline',
    async (job) => {
      const response = await request(slackUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: job.data.at }) });
      await response.body.dump();
    },
    { connection: { ...connection, maxRetriesPerRequest: null }, prefix, concurrency: 32 },
  );
}

if (workerOnly) {
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0)); // started alone (bench/worker-cost.bench.js); exits so --cpu-prof is written
} else {
  const worker = process.env.SPLIT === '1' ? fork(__filename, ['--worker']) : undefined;
  process.on('SIGTERM', () => {
    worker?.kill('SIGTERM');
    process.exit(0);
  });
  const queue = new Queue('baseline', { connection: { ...connection, enableOfflineQueue: false }, prefix });
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
  app.post('/webhooks/port', async (req, reply) => {
    await queue.add('event', { at: req.body.trigger.at }, { removeOnComplete: true });
    return reply.code(202).send({ duplicate: false });
  });
  app.get('/health/live', async () => ({ status: 'ok' }));
  app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
}
