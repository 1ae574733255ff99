'use strict';
// Where the api's CPU per webhook goes: one ROLE=api process (no worker) at a steady rate, its own
// CPU per webhook read from /proc, against bare Fastify and bare Fastify + an awaited BullMQ add,
// and with parts of the service stubbed out (api-cost.stubs.js). Opt-in: BENCH_ONLY=api-cost.
const path = require('node:path');
const { Agent, request } = require('undici');
const { startService, startBare, removeKeys, fmt, processCpuMs, writeSlackRules, vmChange, median } = require('./lib');

const RATE = Number(process.env.BENCH_API_RATE ?? 1000);
const SECONDS = Number(process.env.BENCH_API_SECONDS ?? 8);
const WARMUP_SECONDS = 4;
const ROUNDS = Number(process.env.BENCH_API_ROUNDS ?? 3);
const STUBS = `-r ${path.join(__dirname, 'api-cost.stubs.js')}`;

const LAYOUTS = [
  { name: 'bare Fastify', bare: 'bare' },
  { name: 'bare Fastify + BullMQ add', bare: 'add' },
  { name: 'service', env: {} },
  { name: 'service, no record write', env: { BENCH_STUBS: 'record' } },
  { name: 'service, no log lines', env: { LOG_LEVEL: 'warn' } },
  { name: 'service, intake a no-op (Fastify, Nest, parse, validation, id)', env: { BENCH_STUBS: 'intake' } },
  { name: 'service, intake and validation no-ops (Fastify, Nest, parse)', env: { BENCH_STUBS: 'intake,parse' } },
];

let serial = 0;

/** Sends RATE webhooks/s for `seconds`, each a distinct vm change; resolves once every one is answered. */
async function drive(port, seconds) {
  const agent = new Agent({ connections: 64, pipelining: 1 });
  const url = `http://127.0.0.1:${port}/webhooks/port`;
  let sent = 0; let answered = 0; let failed = 0;
  const started = Date.now();
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      const elapsed = Date.now() - started;
      if (elapsed >= seconds * 1000) { clearInterval(timer); return resolve(); }
      while (sent < (RATE * elapsed) / 1000) {
        sent += 1;
        const body = vmChange(`vm-${(serial += 1)}`);
        request(url, { method: 'POST', body, headers: { 'content-type': 'application/json' }, dispatcher: agent })
          .then((r) => { r.body.dump(); answered += 1; if (r.statusCode !== 202) failed += 1; })
          .catch(() => { answered += 1; failed += 1; });
      }
    }, 10);
  });
  while (answered < sent) await new Promise((resolve) => setTimeout(resolve, 20));
  await agent.close();
  return { sent, failed };
}

async function measure(layout, rulesFile) {
  const prefix = `bench-api-${Date.now()}`;
  const target = layout.bare
    ? await startBare(layout.bare, prefix)
    : await startService({ ROLE: 'api', QUEUE_PREFIX: prefix, RULES_FILE: rulesFile, SLACK_WEBHOOK_URL: 'http://127.0.0.1:9/services/T/B/x', LOG_LEVEL: 'info', NODE_OPTIONS: STUBS, ...layout.env });
  await drive(target.port, WARMUP_SECONDS);
  const before = processCpuMs(target.child.pid);
  const { sent, failed } = await drive(target.port, SECONDS);
  const cpuUs = ((processCpuMs(target.child.pid) - before) * 1000) / sent;
  await target.stop();
  await removeKeys(prefix);
  return { cpuUs, failed };
}

async function run() {
  console.log(`\n## Api CPU per webhook: one process at ${RATE}/s, ${SECONDS}s after ${WARMUP_SECONDS}s warm-up, ${ROUNDS} rounds alternated; medians`);
  const rulesFile = writeSlackRules();
  const runs = LAYOUTS.map(() => []);
  for (let round = 1; round <= ROUNDS; round += 1) {
    for (const [i, layout] of LAYOUTS.entries()) {
      const r = await measure(layout, rulesFile);
      runs[i].push(r);
      console.log(`round ${round} ${layout.name}: ${fmt(r.cpuUs, 0)} µs${r.failed ? ` (${r.failed} answers not 202)` : ''}`);
    }
  }
  const medians = runs.map((rs) => median(rs.map((r) => r.cpuUs)));
  const floor = medians[1];
  for (const [i, layout] of LAYOUTS.entries()) {
    console.log(`${layout.name}: ${fmt(medians[i], 0)} µs per webhook = ${fmt(medians[i] / floor, 2)}x bare Fastify + BullMQ add (rounds ${runs[i].map((r) => fmt(r.cpuUs, 0)).join(', ')})`);
  }
  return { medians };
}

module.exports = { run };
if (require.main === module) run().catch((error) => { console.error(error); process.exit(1); });
