'use strict';
// What one worker process costs per action job, without the api or the load generator on the cores:
// N Slack jobs are queued first (the service's by a ROLE=api process given N webhooks, the bare
// pipeline's by BullMQ adds), then one worker process drains them into the Slack mock. Its CPU per
// job (from /proc, while the queue drains) and its drain rate, against the bare BullMQ + undici
// worker of baseline-pipeline.js. Opt-in: BENCH_ONLY=worker-cost.
const path = require('node:path');
const { spawn } = require('node:child_process');
const { Queue } = require('bullmq');
const Redis = require('ioredis');
const { Agent, request } = require('undici');
const { ROOT, REDIS_URL, vmChange, median, nodeArgs, startService, freePort, removeKeys, fmt, processCpuMs, writeSlackRules, startMockSlack, takeLatencies } = require('./lib');

const JOBS = Number(process.env.BENCH_WORKER_JOBS ?? 8000);
const ROUNDS = Number(process.env.BENCH_WORKER_ROUNDS ?? 3);

/** The service's jobs, as its api queues them: JOBS webhooks to a ROLE=api process (no worker), 200 at a time. */
async function queueServiceJobs(prefix, serviceEnv) {
  const api = await startService({ ...serviceEnv, ROLE: 'api', QUEUE_PREFIX: prefix });
  const agent = new Agent({ connections: 32 });
  for (let sent = 0; sent < JOBS; sent += 200) {
    await Promise.all(Array.from({ length: Math.min(200, JOBS - sent) }, async (_, i) => {
      const body = vmChange(`vm-${prefix}-${sent + i}`);
      const response = await request(`http://127.0.0.1:${api.port}/webhooks/port`, { method: 'POST', body, headers: { 'content-type': 'application/json' }, dispatcher: agent });
      await response.body.dump();
      if (response.statusCode !== 202) throw new Error(`webhook answered ${response.statusCode}`);
    }));
  }
  await agent.close();
  await api.stop();
  return `${prefix}:actions`;
}

async function queueBareJobs(prefix) {
  const queue = new Queue('baseline', { connection: { host: '127.0.0.1', port: 6379 }, prefix });
  for (let added = 0; added < JOBS; added += 500) {
    await Promise.all(Array.from({ length: Math.min(500, JOBS - added) }, () => queue.add('event', { at: new Date().toISOString() }, { removeOnComplete: true })));
  }
  await queue.close();
  return `${prefix}:baseline`;
}

async function startWorker(kind, prefix, slack, serviceEnv) {
  if (kind === 'bare') {
    const env = { ...process.env, QUEUE_PREFIX: prefix, SLACK_URL: `http://127.0.0.1:${slack.port}/services/T/B/x` };
    return spawn(process.execPath, [...nodeArgs(), path.join(__dirname, 'baseline-pipeline.js'), '--worker'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const env = { ...process.env, ...serviceEnv, ROLE: 'worker', PORT: String(await freePort()), HOST: '127.0.0.1', REDIS_URL, QUEUE_PREFIX: prefix };
  return spawn(process.execPath, [...nodeArgs(), path.join(ROOT, 'dist/main.js')], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Queues JOBS jobs, starts one worker, and reads its CPU from the first job taken to the last one done (start-up excluded). */
async function drain(kind, slack, serviceEnv, redis) {
  const prefix = `bench-worker-${kind}-${Date.now()}`;
  const queueKey = kind === 'bare' ? await queueBareJobs(prefix) : await queueServiceJobs(prefix, serviceEnv);
  const queued = await redis.llen(`${queueKey}:wait`);
  const worker = await startWorker(kind, prefix, slack, serviceEnv);
  const left = async () => (await redis.llen(`${queueKey}:wait`)) + (await redis.llen(`${queueKey}:active`));
  let start;
  for (let remaining = await left(); remaining > 0; remaining = await left()) {
    if (!start && remaining < queued) start = { cpuMs: processCpuMs(worker.pid), at: Date.now(), remaining };
    if (Date.now() - (start?.at ?? Date.now()) > 120_000) throw new Error(`${kind} worker: ${remaining} jobs left after 2 minutes`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const cpuMs = processCpuMs(worker.pid) - start.cpuMs;
  const ms = Date.now() - start.at;
  await new Promise((resolve) => {
    worker.once('exit', resolve);
    worker.kill('SIGTERM');
  });
  await removeKeys(prefix);
  await takeLatencies(slack); // the mock's record of these sends is not needed
  return { jobs: start.remaining, cpuUs: (cpuMs * 1000) / start.remaining, perSecond: (start.remaining * 1000) / ms };
}

async function run() {
  console.log(`\n## Worker CPU per action job: ${JOBS} Slack jobs queued, then drained by one worker process, ${ROUNDS} rounds alternated; medians`);
  const slack = await startMockSlack();
  const redis = new Redis(REDIS_URL);
  const serviceEnv = { RULES_FILE: writeSlackRules(), SLACK_WEBHOOK_URL: `http://127.0.0.1:${slack.port}/services/T/B/x`, SLACK_MAX_PER_SECOND: '10000', LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info' };
  const runs = { bare: [], service: [] };
  for (let round = 1; round <= ROUNDS; round += 1) {
    for (const kind of ['bare', 'service']) {
      const r = await drain(kind, slack, serviceEnv, redis);
      runs[kind].push(r);
      console.log(`round ${round} ${kind === 'bare' ? 'bare BullMQ + undici worker' : 'service ROLE=worker'}: ${fmt(r.cpuUs, 0)} µs per job, ${fmt(r.perSecond, 0)} jobs/s (${r.jobs} jobs)`);
    }
  }
  const [bareUs, serviceUs] = [median(runs.bare.map((r) => r.cpuUs)), median(runs.service.map((r) => r.cpuUs))];
  const [bareRate, serviceRate] = [median(runs.bare.map((r) => r.perSecond)), median(runs.service.map((r) => r.perSecond))];
  console.log(`bare worker: ${fmt(bareUs, 0)} µs per job, ${fmt(bareRate, 0)} jobs/s`);
  console.log(`service worker: ${fmt(serviceUs, 0)} µs per job = ${fmt(serviceUs / bareUs, 2)}x the bare worker, ${fmt(serviceRate, 0)} jobs/s = ${fmt(serviceRate / bareRate, 2)}x`);
  slack.child.kill();
  redis.disconnect();
  return { bareUs, serviceUs, bareRate, serviceRate };
}

module.exports = { run };
if (require.main === module) run().catch((error) => { console.error(error); process.exit(1); });
