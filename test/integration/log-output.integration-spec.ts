import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closedPort } from '../support/mock-target';
import { readSample } from '../support/port-samples';
import { MAIN, ServiceProcess } from '../support/service-process';
import { REDIS_URL, removeKeys, uniquePrefix, waitFor, writeRulesFile } from '../support/test-app';

const vm = readSample('kafka-changelog-entity-update-vm-free_storage.json') as Record<string, unknown>;

/** A distinct vm change per serial: each is a new event, so each writes an `event evaluated` line. */
const change = (serial: number) =>
  JSON.stringify({ ...vm, context: { blueprint: 'vm', entity: `vm-log-${serial}` }, trigger: { ...(vm.trigger as object), at: new Date(1_800_000_000_000 + serial).toISOString() } });

async function post(base: string, serial: number): Promise<number> {
  const response = await fetch(`${base}/webhooks/port`, { method: 'POST', body: change(serial), headers: { 'content-type': 'application/json' } });
  await response.arrayBuffer();
  return response.status;
}

/** `count` distinct changes from `first` on, 20 at a time; their answers' statuses. */
async function postMany(base: string, first: number, count: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let serial = first; serial < first + count; serial += 20) {
    statuses.push(...(await Promise.all(Array.from({ length: 20 }, (_, i) => post(base, serial + i)))));
  }
  return statuses;
}

/** The built service with `stdout` as given and its own working directory (no .env of the checkout read). */
function startMain(env: Record<string, string>, stdout: 'pipe' | number): ChildProcess {
  const cwd = mkdtempSync(join(tmpdir(), 'reactor-log-'));
  return spawn(process.execPath, [MAIN], { cwd, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', stdout, 'ignore'] });
}

const evaluatedLines = (output: string) => output.split('\n').filter((line) => line.includes('"event evaluated')).length;

describe('log lines on stdout (built service, ROLE=api, lines written in batches)', () => {
  jest.setTimeout(60_000);
  const prefix = uniquePrefix();
  let env: Record<string, string>;
  let base = '';

  beforeAll(async () => {
    const port = await closedPort();
    base = `http://127.0.0.1:${port}`;
    const rules = writeRulesFile('rules:\n  - id: vm-any\n    blueprint: vm\n    do:\n      - http: { url: "http://127.0.0.1:9/never" }\n');
    // XSYNC=1 runs these against LOG_SYNC=true, the synchronous writes: the stopped-reader tests then time out.
    env = { REDIS_URL, QUEUE_PREFIX: prefix, ROLE: 'api', HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'info', RULES_FILE: rules, ...(process.env.XSYNC ? { LOG_SYNC: 'true' } : {}) };
  });
  afterAll(() => removeKeys(prefix));

  const ready = () => waitFor(async () => (await fetch(`${base}/health/ready`).catch(() => undefined))?.status === 200, 20_000, 'readiness');

  it('should write every line, the last ones when it exits', async () => {
    const service = new ServiceProcess();
    service.start(env);
    try {
      await ready();
      for (let serial = 1; serial <= 30; serial += 1) expect(await post(base, serial)).toBe(202);

      expect(await service.terminate(15_000)).toEqual({ code: 0, signal: null });
      expect(evaluatedLines(service.output)).toBe(30);
      // Logged just before process.exit: only the flush at exit can have written it.
      expect(service.output).toMatch(/"msg":"stopped"/);
    } finally {
      service.kill();
    }
  });

  it('should go on answering webhooks while its log reader has stopped reading, and write the lines once it reads again', async () => {
    // stdout a pipe that this test stops reading: the pipe and the stream's buffer fill after ~200 lines.
    const child = startMain(env, 'pipe');
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    try {
      await ready();
      child.stdout!.pause();
      const webhooks = 1_000;
      // With a line written synchronously per event, the service would block on the full pipe.
      const statuses = await postMany(base, 1_001, webhooks);
      expect(statuses.filter((status) => status === 202)).toHaveLength(webhooks);
      expect(evaluatedLines(output)).toBeLessThan(webhooks); // the reader did stop: not every line got out

      child.stdout!.resume();
      await waitFor(async () => evaluatedLines(output) === webhooks, 15_000, 'every line written once stdout is read again');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('should go on answering webhooks while a blocking stdout pipe is not read at all', async () => {
    // stdout a blocking pipe (as a shell pipe gives) that nobody reads: a write to it waits for good.
    const dir = mkdtempSync(join(tmpdir(), 'reactor-log-'));
    const fifo = join(dir, 'stdout');
    execFileSync('mkfifo', [fifo]);
    const stdout = openSync(fifo, 'r+'); // its read end held open, never read
    const child = startMain(env, stdout);
    try {
      await ready();
      const statuses = await postMany(base, 5_001, 600);

      expect(statuses.filter((status) => status === 202)).toHaveLength(600);
      expect((await fetch(`${base}/health/live`)).status).toBe(200);
    } finally {
      // An exit would wait for the reader (the write in flight cannot be called back): killed, as a supervisor would.
      child.kill('SIGKILL');
      closeSync(stdout);
    }
  });
});
