'use strict';
// End to end at a steady rate: webhook -> queue -> rules -> actions queue -> Slack mock, against a
// bare Fastify + BullMQ + undici pipeline measured in the same run.
const { spawn } = require('node:child_process');
const path = require('node:path');
const { Agent, request } = require('undici');
const Redis = require('ioredis');
const { startService, freePort, removeKeys, fmt, vmChange, median, nodeArgs, writeSlackRules, startMockSlack, takeLatencies, processCpuMs, redisCpuMs, REDIS_URL } = require('./lib');

const RATES = (process.env.BENCH_RATES ?? '500,1000').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_E2E_SECONDS ?? 10);


const take = takeLatencies;

async function startBaseline(slackPort, prefix, split) {
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeArgs(), path.join(__dirname, 'baseline-pipeline.js')], {
    env: { ...process.env, PORT: String(port), QUEUE_PREFIX: prefix, SLACK_URL: `http://127.0.0.1:${slackPort}/services/T/B/x`, SPLIT: split ? '1' : '0' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let i = 0; i < 100; i += 1) {
    try { await fetch(`http://127.0.0.1:${port}/health/live`); break; } catch { await new Promise((r) => setTimeout(r, 100)); }
  }
  return { port, child, stop: () => new Promise((resolve) => { child.once('exit', resolve); child.kill('SIGTERM'); }) };
}

/** The p-th percentile of ascending values. */
const pctOf = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

// Long enough for steady state: the service's latencies settle only after ~3-4 s at 500/s (JIT of the
// rules engine, jq, Nest and BullMQ paths); the baseline gets the same warm-up.
const WARMUP_SECONDS = Number(process.env.BENCH_E2E_WARMUP_SECONDS ?? 5);
let serial = 0;

/** Sends `rate` events/s for `seconds`, each a distinct change whose trigger.at is its send time; samples the backlog each second. */
async function drive(port, rate, slack, seconds = SECONDS) {
  const agent = new Agent({ connections: 64, pipelining: 1 });
  const url = `http://127.0.0.1:${port}/webhooks/port`;
  let sent = 0; let failed = 0; let received = 0; const backlog = [];
  const tickMs = 10; let due = 0;
  const started = Date.now();
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      const elapsed = Date.now() - started;
      if (elapsed >= seconds * 1000) { clearInterval(timer); return resolve(); }
      due = (rate * elapsed) / 1000;
      while (sent < due) {
        sent += 1;
        const body = vmChange(`vm-${(serial += 1)}`);
        request(url, { method: 'POST', body, headers: { 'content-type': 'application/json' }, dispatcher: agent })
          .then((r) => { r.body.dump(); if (r.statusCode !== 202) failed += 1; })
          .catch(() => { failed += 1; });
      }
    }, tickMs);
    const sampler = setInterval(async () => {
      if (Date.now() - started >= seconds * 1000) return clearInterval(sampler);
      const latencies = await take(slack);
      received += latencies.length; slack.collected.push(...latencies);
      backlog.push(Math.round(sent - received - failed));
    }, 1000);
  });
  // Drain: wait until every accepted event was delivered (or 15 s).
  for (let i = 0; i < 150 && received + failed < sent; i += 1) {
    await new Promise((r) => setTimeout(r, 100));
    const latencies = await take(slack); received += latencies.length; slack.collected.push(...latencies);
  }
  await agent.close();
  const sorted = slack.collected.splice(0).sort((a, b) => a - b);
  return { sent, failed, delivered: sorted.length, p50: pctOf(sorted, 50), p99: pctOf(sorted, 99), backlog };
}

const ROUNDS = Number(process.env.BENCH_E2E_ROUNDS ?? 3);
// `bare-split`: the bare pipeline with its worker in a forked process, as ROLE=all runs; not the
// service, but it tells the cost of two processes apart from the cost of the service's own work.
const LAYOUTS = ['ROLE=all', 'inline', 'api+worker', 'bare-split'];
const nameOf = (layout) => ({ baseline: 'baseline', 'bare-split': 'baseline with a forked worker process' })[layout] ?? `service ${layout}`;

/**
 * Drives the measured part and adds each process's and Redis' CPU time per event sent (µs), read
 * around it: the figure that explains the latencies, and steadier than they are on a shared machine.
 */
async function measured(port, processes, rate, slack, redis) {
  const cpuBefore = processes.map(({ child }) => processCpuMs(child.pid));
  const redisBefore = await redisCpuMs(redis);
  const result = await drive(port, rate, slack);
  const perEvent = (ms) => (ms * 1000) / result.sent;
  const cpu = Object.fromEntries(processes.map(({ name, child }, i) => [name, perEvent(processCpuMs(child.pid) - cpuBefore[i])]));
  return { ...result, cpu, redisCpu: perEvent((await redisCpuMs(redis)) - redisBefore) };
}

/**
 * Where the service's receipt-to-delivery time went, from the timestamps of the action jobs finished
 * since `since` (BullMQ keeps the last 10,000): `in` send to receipt (HTTP, parse), `api` receipt to
 * the job's add, `queue` add to a worker taking it, `run` taken to finished (pacing, the Slack call,
 * the record). p50/p99 of each, and the mean of each over the slowest 1% of events: what their time
 * was spent on.
 */
async function stages(redis, prefix, since) {
  const ids = await redis.zrangebyscore(`${prefix}:actions:completed`, since, '+inf');
  const rows = [];
  for (let i = 0; i < ids.length; i += 1000) {
    const pipeline = redis.pipeline();
    for (const id of ids.slice(i, i + 1000)) pipeline.hmget(`${prefix}:actions:${id}`, 'data', 'timestamp', 'processedOn', 'finishedOn');
    for (const [, [data, added, taken, finished]] of await pipeline.exec()) {
      const job = JSON.parse(data);
      const sentAt = Date.parse(job.action.text);
      const receivedAt = Date.parse(job.receivedAt);
      if (!(sentAt >= since)) continue;
      rows.push({ in: receivedAt - sentAt, api: added - receivedAt, queue: taken - added, run: finished - taken, total: finished - sentAt });
    }
  }
  const names = ['in', 'api', 'queue', 'run'];
  const byTotal = [...rows].sort((a, b) => b.total - a.total).slice(0, Math.max(1, Math.ceil(rows.length / 100)));
  return Object.fromEntries(names.map((name) => {
    const sorted = rows.map((row) => row[name]).sort((a, b) => a - b);
    return [name, { p50: pctOf(sorted, 50), p99: pctOf(sorted, 99), slowest: byTotal.reduce((sum, row) => sum + row[name], 0) / byTotal.length }];
  }));
}

/** One fresh measurement of a layout: its processes started, warmed up, driven, stopped, keys removed. */
async function measureLayout(layout, rate, slack, serviceEnv, redis) {
  if (layout === 'baseline' || layout === 'bare-split') {
    const prefix = `bench-base-${Date.now()}`;
    const baseline = await startBaseline(slack.port, prefix, layout === 'bare-split');
    await drive(baseline.port, rate, slack, WARMUP_SECONDS); // JIT, connections, scripts: not measured
    const result = await measured(baseline.port, [{ name: 'bare pipeline', child: baseline.child }], rate, slack, redis);
    await baseline.stop();
    await removeKeys(prefix);
    return result;
  }
  const roles = layout === 'api+worker' ? ['api', 'worker'] : ['all'];
  const prefix = `bench-e2e-${Date.now()}`;
  const processes = [];
  const workerProcess = layout === 'inline' ? 'inline' : 'child';
  for (const role of roles) processes.push({ name: role, ...(await startService({ ...serviceEnv, ROLE: role, WORKER_PROCESS: workerProcess, QUEUE_PREFIX: prefix })) });
  await drive(processes[0].port, rate, slack, WARMUP_SECONDS);
  const since = Date.now();
  const result = await measured(processes[0].port, processes, rate, slack, redis);
  result.stages = await stages(redis, prefix, since);
  for (const child of processes) await child.stop();
  await removeKeys(prefix);
  return result;
}

async function run() {
  // The service as started by default (ROLE=all: an api process that forks its worker process), as
  // one process (ROLE=all, WORKER_PROCESS=inline), and as ROLE=api + ROLE=worker (README's
  // Operating). The baseline always runs: every figure is a ratio to it.
  const requested = (process.env.BENCH_E2E_LAYOUTS ?? LAYOUTS.join(',')).split(',');
  const unknown = requested.filter((layout) => !LAYOUTS.includes(layout));
  if (unknown.length) throw new Error(`BENCH_E2E_LAYOUTS: unknown layout ${unknown.join(', ')} (use ${LAYOUTS.join(', ')})`);
  const layouts = ['baseline', ...requested];
  const slack = { ...(await startMockSlack()), collected: [] };
  const redis = new Redis(REDIS_URL);
  const rulesFile = writeSlackRules();
  const serviceEnv = {
    RULES_FILE: rulesFile, SLACK_WEBHOOK_URL: `http://127.0.0.1:${slack.port}/services/T/B/x`,
    // The Slack pacer runs (a reservation per block of sends) but does not bind: at a limit equal to the
    // offered rate any hiccup would leave a backlog that never drains, and the baseline has no limit.
    SLACK_MAX_PER_SECOND: String(Math.min(10_000, 2 * Math.max(...RATES))), LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
  };
  const results = [];
  console.log(`\n## End to end: webhook -> Slack mock at a steady rate, ${SECONDS}s each after ${WARMUP_SECONDS}s warm-up (receipt-to-delivery latency), ${ROUNDS} rounds alternating baseline and service; medians`);
  const cpuLine = (r) => `CPU per event ${Object.entries(r.cpu).map(([name, us]) => `${name} ${fmt(us, 0)}`).join(' + ')} µs, Redis ${fmt(r.redisCpu, 0)} µs`;
  const stageLine = (r) => (r.stages ? `; stages p50/p99 (slowest 1% mean) ms: ${Object.entries(r.stages).map(([name, st]) => `${name} ${st.p50}/${st.p99} (${fmt(st.slowest, 0)})`).join(', ')}` : '');
  const line = (name, r) => `${name}: sent ${r.sent}, delivered ${r.delivered}, failed ${r.failed}, p50 ${r.p50} ms, p99 ${r.p99} ms, backlog each second [${r.backlog.join(' ')}]; ${cpuLine(r)}${stageLine(r)}`;
  for (const rate of RATES) {
    const runs = Object.fromEntries(layouts.map((layout) => [layout, []]));
    for (let round = 1; round <= ROUNDS; round += 1) {
      for (const layout of layouts) {
        const r = await measureLayout(layout, rate, slack, serviceEnv, redis);
        runs[layout].push(r);
        console.log(`${rate}/s round ${round} ${line(nameOf(layout), r)}`);
      }
    }
    const summary = Object.fromEntries(layouts.map((layout) => [layout, {
      p50: median(runs[layout].map((r) => r.p50)),
      p99: median(runs[layout].map((r) => r.p99)),
      lastBacklog: median(runs[layout].map((r) => r.backlog[r.backlog.length - 1] ?? 0)),
      failed: runs[layout].reduce((sum, r) => sum + r.failed, 0),
      nodeCpu: median(runs[layout].map((r) => Object.values(r.cpu).reduce((sum, us) => sum + us, 0))),
      redisCpu: median(runs[layout].map((r) => r.redisCpu)),
    }]));
    const base = summary.baseline;
    // Like for like: ROLE=all and api+worker are two processes, as is the control (the same bare pipeline, its worker forked).
    const vsControl = (ours, layout) =>
      summary['bare-split'] && layout !== 'inline' ? `; against the control: p99 ${fmt(ours.p99 / summary['bare-split'].p99, 2)}x, p50 ${fmt(ours.p50 / summary['bare-split'].p50, 2)}x` : '';
    console.log(`${rate}/s baseline (median of ${ROUNDS}): p50 ${base.p50} ms, p99 ${base.p99} ms, backlog at the end ${base.lastBacklog}; CPU per event ${fmt(base.nodeCpu, 0)} µs in Node, ${fmt(base.redisCpu, 0)} µs in Redis`);
    for (const layout of layouts.slice(1)) {
      const ours = summary[layout];
      console.log(`${rate}/s ${nameOf(layout)} (median of ${ROUNDS}): p50 ${ours.p50} ms, p99 ${ours.p99} ms, backlog at the end ${ours.lastBacklog}, failed ${ours.failed}: p99 = ${fmt(ours.p99 / base.p99, 2)}x baseline p99, p50 = ${fmt(ours.p50 / base.p50, 2)}x${layout === 'bare-split' ? '' : ` (target: within 2x)${vsControl(ours, layout)}`}; CPU per event ${fmt(ours.nodeCpu, 0)} µs in Node = ${fmt(ours.nodeCpu / base.nodeCpu, 2)}x, ${fmt(ours.redisCpu, 0)} µs in Redis = ${fmt(ours.redisCpu / base.redisCpu, 2)}x`);
    }
    results.push({ rate, runs, summary });
  }
  slack.child.kill();
  redis.disconnect();
  return results;
}

module.exports = { run };
if (require.main === module) run().catch((error) => { console.error(error); process.exit(1); });
