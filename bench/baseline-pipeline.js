'use strict';
// The end-to-end baseline: bare Fastify -> awaited BullMQ add -> BullMQ worker -> undici POST to the Slack mock.
const Fastify = require('fastify');
const { Queue, Worker } = require('bullmq');
const { request } = require('undici');

const connection = { host: '127.0.0.1', port: 6379 };
const prefix = process.env.QUEUE_PREFIX;
const slackUrl = process.env.SLACK_URL;
const queue = new Queue('baseline', { connection: { ...connection, enableOfflineQueue: false }, prefix });
new Worker(
  'baseline',
  async (job) => {
    const response = await request(slackUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: job.data.at }) });
    await response.body.dump();
  },
  { connection: { ...connection, maxRetriesPerRequest: null }, prefix, concurrency: 32 },
);

const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
app.post('/webhooks/port', async (req, reply) => {
  await queue.add('event', { at: req.body.trigger.at }, { removeOnComplete: true });
  return reply.code(202).send({ duplicate: false });
});
app.get('/health/live', async () => ({ status: 'ok' }));
app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
