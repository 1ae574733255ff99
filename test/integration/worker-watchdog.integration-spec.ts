import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WorkerProcess } from '../../src/process/worker-process';

// A stand-in worker process: ready at once, then answers pings (unless silent) and exits `stopMs` after
// a stop (never, when null).
const fakeWorker = (silent: boolean, stopMs: number | null) => `
process.send({ type: 'ready' });
process.on('message', (message) => {
  if (message.type === 'ping' && !${silent}) process.send({ type: 'pong' });
  if (message.type === 'stop' && ${stopMs} !== null) setTimeout(() => process.exit(0), ${stopMs} ?? 0);
});
process.on('disconnect', () => ${stopMs} !== null && process.exit(0));
`;
const KINDS = {
  answering: fakeWorker(false, 0),
  silent: fakeWorker(true, 0),
  // Answers while it finishes its jobs, for longer than a hang period.
  'slow to stop': fakeWorker(false, 2_500),
  // Neither answers nor ever stops.
  stuck: fakeWorker(true, null),
  // Says it blocks its event loop on purpose (its rules file compiling), does so for 3 s, then is done.
  busy: `
process.send({ type: 'ready' });
process.on('message', (message) => { if (message.type === 'ping') process.send({ type: 'pong' }); });
process.on('disconnect', () => process.exit(0));
setTimeout(() => {
  process.send({ type: 'busy', busy: true }, () => {
    const until = Date.now() + 3_000;
    while (Date.now() < until) {}
    process.send({ type: 'busy', busy: false });
  });
}, 300);
`,
};

const HANG_MS = 1_000; // pings every 250 ms
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('WorkerProcess.onHang: the api process watching its worker process', () => {
  jest.setTimeout(20_000);
  const dir = mkdtempSync(path.join(tmpdir(), 'fake-worker-'));
  for (const [kind, script] of Object.entries(KINDS)) writeFileSync(path.join(dir, `${kind}.js`), script);
  let worker: WorkerProcess | undefined;

  async function start(kind: keyof typeof KINDS = 'answering'): Promise<{ worker: WorkerProcess; reports: string[] }> {
    worker = await WorkerProcess.start(path.join(dir, `${kind}.js`));
    const reports: string[] = [];
    worker.onHang(HANG_MS, (description) => reports.push(description));
    return { worker, reports };
  }

  afterEach(() => worker?.kill());

  it('should leave a worker process that answers alone', async () => {
    const { reports } = await start();
    await sleep(3 * HANG_MS);
    expect(reports).toEqual([]);
  });

  it('should report one that stops answering, once, after the hang period', async () => {
    const { worker: silent, reports } = await start('silent');
    await sleep(HANG_MS + 600);
    expect(reports).toEqual([`the worker process ${silent.pid} has not answered for 1 s`]);
    await sleep(1_000);
    expect(reports).toHaveLength(1);
  });

  it('should not blame the worker process for a stall of its own event loop', async () => {
    const { reports } = await start();
    await sleep(300);
    const until = Date.now() + 3 * HANG_MS;
    while (Date.now() < until) {
      // This process's event loop is blocked: the worker process's answers wait unread in the pipe.
    }
    await sleep(600); // the first ticks after the stall, before and after the waiting answers are read
    expect(reports).toEqual([]);
  });

  it('should not take a worker process that said it is busy (a rules file compiling) for hung', async () => {
    const { reports } = await start('busy');
    await sleep(300 + 3_000 + 2 * HANG_MS);
    expect(reports).toEqual([]);
  });

  it('should let a worker process that still answers take its time to stop', async () => {
    const { worker: slow, reports } = await start('slow to stop');
    const started = Date.now();
    await slow.stop();
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_400); // not killed after one hang period
    expect(reports).toEqual([]);
  });

  it('should kill a worker process that hangs while it is being stopped, so that stop() returns', async () => {
    const { worker: stuck, reports } = await start('stuck');
    const started = Date.now();
    await stuck.stop();
    expect(Date.now() - started).toBeLessThan(HANG_MS + 1_000);
    expect(reports).toEqual([]); // ended, not reported: a shutdown is under way
  });
});
