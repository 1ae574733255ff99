'use strict';
// Durable ingest vs a bare Fastify JSON route, alternated in one invocation so machine noise hits both.
const autocannon = require('autocannon');
const { readFileSync } = require('node:fs');
const path = require('node:path');
const { startService, startBare, removeKeys, fmt, ROOT } = require('./lib');

const SAMPLE = JSON.parse(readFileSync(path.join(ROOT, '../shared/port-samples/kafka-changelog-entity-update-vm-free_storage.json'), 'utf8'));
const DURATION_S = Number(process.env.BENCH_DURATION ?? 6);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

let counter = 0;
/** A distinct event per request (new trigger.at), so every request takes the durable path, never the duplicate one. */
function uniqueBody() {
  counter += 1;
  const body = { ...SAMPLE, trigger: { ...SAMPLE.trigger, at: new Date(1_700_000_000_000 + counter).toISOString() } };
  return JSON.stringify(body);
}

function load(port) {
  return autocannon({
    url: `http://127.0.0.1:${port}/webhooks/port`,
    connections: 50,
    duration: DURATION_S,
    requests: [{ method: 'POST', headers: { 'content-type': 'application/json' }, setupRequest: (req) => ({ ...req, body: uniqueBody() }) }],
  });
}

function summary(result) {
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx + result.errors };
}

async function run() {
  const prefix = `bench-ingest-${Date.now()}`;
  const service = await startService({ ROLE: 'api', QUEUE_PREFIX: prefix, RULES_FILE: path.join(ROOT, 'bench/rules.bench.yaml'), SLACK_WEBHOOK_URL: 'http://127.0.0.1:9/never' });
  const bare = await startBare('bare');
  const bareAdd = await startBare('add', `${prefix}-bare`);
  const rounds = [];
  try {
    for (const target of [bare, bareAdd, service]) await load(target.port); // warm-up: JIT, Redis scripts
    for (let i = 0; i < ROUNDS; i += 1) {
      rounds.push({ bare: summary(await load(bare.port)), bareAdd: summary(await load(bareAdd.port)), service: summary(await load(service.port)) });
    }
  } finally {
    await Promise.all([service.stop(), bare.stop(), bareAdd.stop()]);
    // The bare + add server's jobs live under their own prefix (`<prefix>-bare:`), never consumed.
    await Promise.all([removeKeys(prefix), removeKeys(`${prefix}-bare`)]);
  }
  const avg = (pick) => rounds.reduce((sum, round) => sum + pick(round), 0) / rounds.length;
  const result = {
    bareRps: avg((r) => r.bare.rps),
    bareAddRps: avg((r) => r.bareAdd.rps),
    serviceRps: avg((r) => r.service.rps),
    bareP99: avg((r) => r.bare.p99),
    serviceP50: avg((r) => r.service.p50),
    serviceP99: avg((r) => r.service.p99),
    errors: rounds.reduce((sum, r) => sum + r.service.non2xx, 0),
  };
  console.log(`\n## Ingest: POST /webhooks/port, 50 connections, ${ROUNDS} x ${DURATION_S}s alternated`);
  for (const [i, r] of rounds.entries()) {
    console.log(`round ${i + 1}: bare ${fmt(r.bare.rps, 0)} req/s p99 ${r.bare.p99} ms | bare+BullMQ add ${fmt(r.bareAdd.rps, 0)} req/s p99 ${r.bareAdd.p99} ms | service ${fmt(r.service.rps, 0)} req/s p50 ${r.service.p50} ms p99 ${r.service.p99} ms (non-2xx ${r.service.non2xx})`);
  }
  console.log(`bare Fastify + awaited BullMQ add: ${fmt(result.bareAddRps / result.bareRps, 2)}x bare`);
  console.log(`durable ingest: ${fmt(result.serviceRps, 0)} req/s = ${fmt(result.serviceRps / result.bareRps, 2)}x bare Fastify (${fmt(result.bareRps, 0)} req/s), ${fmt(result.serviceRps / result.bareAddRps, 2)}x bare+add; ack p50 ${fmt(result.serviceP50)} ms, p99 ${fmt(result.serviceP99)} ms (target: >= 0.35x bare, p99 <= 25 ms)`);
  return result;
}

module.exports = { run };
if (require.main === module) run().catch((error) => { console.error(error); process.exit(1); });
