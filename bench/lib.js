'use strict';
const { spawn } = require('node:child_process');
const { createServer } = require('node:net');
const path = require('node:path');
const Redis = require('ioredis');

const ROOT = path.resolve(__dirname, '..');
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitHttp(url, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      if (response.status < 500) return;
    } catch {
      /* not up yet */
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not come up in ${timeoutMs} ms`);
}

/** BENCH_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", to profile what the bench starts under load. */
const nodeArgs = () => (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);

/** Starts the built service (dist/main.js) with its own queue prefix; resolves once /health/live answers. */
async function startService(env) {
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeArgs(), path.join(ROOT, 'dist/main.js')], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', REDIS_URL, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitHttp(`http://127.0.0.1:${port}/health/live`);
  return { port, child, stop: () => stopChild(child) };
}

async function startBare(mode = 'bare', prefix = 'bench-bare') {
  const port = await freePort();
  const env = { ...process.env, PORT: String(port), MODE: mode, QUEUE_PREFIX: prefix };
  const child = spawn(process.execPath, [...nodeArgs(), path.join(__dirname, 'bare-server.js')], { env, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  await new Promise((resolve) => child.once('message', resolve));
  return { port, child, stop: () => stopChild(child) };
}

function stopChild(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', resolve);
    child.kill('SIGTERM');
  });
}

async function removeKeys(prefix) {
  const redis = new Redis(REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  redis.disconnect();
}

const fmt = (n, digits = 1) => Number(n).toFixed(digits);

let clockTicks;
/** CPU time (user + system, ms) a process has used so far, from /proc; undefined where there is no /proc. */
function processCpuMs(pid) {
  try {
    clockTicks ??= Number(require('node:child_process').execFileSync('getconf', ['CLK_TCK']).toString()) || 100;
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = require('node:fs').readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // With the processes it forked (ROLE=all's worker process), which count as the service's too.
    const children = require('node:fs').readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean);
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks + children.reduce((sum, child) => sum + (processCpuMs(child) ?? 0), 0);
  } catch {
    return undefined;
  }
}

/** CPU time (ms) the Redis server has used so far, from INFO. */
async function redisCpuMs(redis) {
  const info = await redis.info('cpu');
  const field = (name) => Number(info.match(new RegExp(`^${name}:([0-9.]+)`, 'm'))?.[1] ?? NaN);
  return (field('used_cpu_sys') + field('used_cpu_user')) * 1000;
}

/** The vm sample changelog event: every copy is a new change once trigger.at or the entity differs. */
const VM_SAMPLE = JSON.parse(require('node:fs').readFileSync(path.join(ROOT, '../shared/port-samples/kafka-changelog-entity-update-vm-free_storage.json'), 'utf8'));

/** A webhook body: the vm sample as a change of `entity` sent now (trigger.at is the send time). */
const vmChange = (entity) => JSON.stringify({ ...VM_SAMPLE, trigger: { ...VM_SAMPLE.trigger, at: new Date().toISOString() }, context: { ...VM_SAMPLE.context, entity } });

/** The median of `values` (the upper one of an even count). */
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** One Slack message per vm change, whose text is the event's trigger.at, so the mock can time receipt to delivery. */
function writeSlackRules() {
  const { mkdtempSync, writeFileSync } = require('node:fs');
  const file = path.join(mkdtempSync(path.join(require('node:os').tmpdir(), 'bench-rules-')), 'rules.yaml');
  writeFileSync(file, `rules:
  - id: vm-storage
    blueprint: vm
    when:
      - changed: properties.free_storage
    do:
      - slack:
          text: "{{ .trigger.at }}"
`);
  return file;
}

/** bench/mock-slack.js in its own process, so timing it is not disturbed by the load generator. */
function startMockSlack() {
  const { fork } = require('node:child_process');
  const child = fork(path.join(__dirname, 'mock-slack.js'), { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  return new Promise((resolve) => child.once('message', ({ port }) => resolve({ child, port })));
}

/** The latencies (ms) the mock saw since the last call. */
function takeLatencies(slack) {
  return new Promise((resolve) => {
    slack.child.once('message', ({ latencies }) => resolve(latencies));
    slack.child.send('take');
  });
}

module.exports = { ROOT, REDIS_URL, vmChange, median, nodeArgs, freePort, startService, startBare, removeKeys, fmt, processCpuMs, redisCpuMs, writeSlackRules, startMockSlack, takeLatencies };
