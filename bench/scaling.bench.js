'use strict';
// Scaling out: the same burst of events end to end (webhook -> rules -> Slack mock) through
// 1 api + 1 worker and through 1 api + 2 workers, all on one Redis, measured in the same run.
const path = require('node:path');
const { Agent, request } = require('undici');
const { startService, removeKeys, fmt, vmChange, writeSlackRules, startMockSlack, takeLatencies } = require('./lib');

const EVENTS = Number(process.env.BENCH_SCALING_EVENTS ?? 4000);

const take = async (slack) => (await takeLatencies(slack)).length;

async function burst(apiPort, label) {
  const agent = new Agent({ connections: 50 });
  let next = 0;
  const send = async () => {
    while (next < EVENTS) {
      next += 1;
      const body = vmChange(`${label}-${next}`);
      const response = await request(`http://127.0.0.1:${apiPort}/webhooks/port`, { method: 'POST', body, headers: { 'content-type': 'application/json' }, dispatcher: agent });
      await response.body.dump();
    }
  };
  await Promise.all(Array.from({ length: 50 }, send));
  await agent.close();
}

async function measure(workers, slack, rulesFile) {
  const prefix = `bench-scale-${workers}-${Date.now()}`;
  const env = { QUEUE_PREFIX: prefix, RULES_FILE: rulesFile, SLACK_WEBHOOK_URL: `http://127.0.0.1:${slack.port}/services/T/B/x`, SLACK_MAX_PER_SECOND: '10000', LOG_LEVEL: 'warn' }; // pacing runs, never binds: the workers are measured
  const api = await startService({ ...env, ROLE: 'api' });
  const pool = await Promise.all(Array.from({ length: workers }, () => startService({ ...env, ROLE: 'worker' })));
  await take(slack);
  const started = Date.now();
  await burst(api.port, `w${workers}`);
  const acceptedAt = Date.now();
  let delivered = 0;
  while (delivered < EVENTS && Date.now() - started < 120_000) {
    await new Promise((r) => setTimeout(r, 100));
    delivered += await take(slack);
  }
  const seconds = (Date.now() - started) / 1000;
  await Promise.all([api, ...pool].map((p) => p.stop()));
  await removeKeys(prefix);
  return { workers, delivered, seconds, rate: delivered / seconds, ingestRate: EVENTS / ((acceptedAt - started) / 1000) };
}

async function run() {
  const slack = await startMockSlack();
  const rulesFile = writeSlackRules();
  console.log(`\n## Scaling: ${EVENTS} events end to end (webhook -> Slack mock), separate api and worker processes`);
  const one = await measure(1, slack, rulesFile);
  const two = await measure(2, slack, rulesFile);
  for (const r of [one, two]) {
    console.log(`1 api + ${r.workers} worker(s): ${r.delivered}/${EVENTS} delivered in ${fmt(r.seconds, 2)} s = ${fmt(r.rate, 0)} events/s end to end (the api accepted ${fmt(r.ingestRate, 0)}/s)`);
  }
  console.log(`2 workers = ${fmt(two.rate / one.rate, 2)}x 1 worker (same machine: 2 cores shared by the api, the workers, Redis and the load generator)`);
  slack.child.kill();
  return { one, two };
}

module.exports = { run };
if (require.main === module) run().catch((error) => { console.error(error); process.exit(1); });
