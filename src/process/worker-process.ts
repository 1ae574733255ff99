import { ChildProcess, fork } from 'node:child_process';
import { withTimeout } from '../common/with-timeout';
import type { ProcessMetrics } from '../ops/metrics.service';
import { SilenceWatch } from './silence-watch';

/** The argument that makes `main.js` run as ROLE=all's worker process. */
export const WORKER_CHILD_FLAG = '--reactor-worker-child';

/** What the api process asks of its worker process, and what the worker process answers. */
export type ToWorker = { type: 'metrics'; id: number } | { type: 'ping' } | { type: 'stop' } | { type: 'busy'; busy: boolean };
export type FromWorker = { type: 'ready' } | { type: 'pong' } | { type: 'busy'; busy: boolean } | { type: 'metrics'; id: number; metrics?: ProcessMetrics; error?: string };

const START_TIMEOUT_MS = 60_000;
const METRICS_TIMEOUT_MS = 2_000; // within MetricsService's deadline for a whole scrape

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const describeExit = ({ code, signal }: Exit) => (signal ? `was killed by ${signal}` : `exited with code ${code}`);

/**
 * ROLE=all's workers, forked as a second process of the same build: webhooks and actions then run
 * on two event loops (and two cores), as an api and a worker process would, without an operator
 * running two. The api process starts it, asks it for its metrics on each scrape, and stops it on
 * shutdown; the worker process stops by itself when the api process goes away.
 */
export class WorkerProcess {
  private readonly exited: Promise<Exit>;
  private readonly ready: Promise<void>;
  private markReady: () => void = () => undefined;
  private readonly pending = new Map<number, { resolve: (metrics: ProcessMetrics) => void; reject: (error: Error) => void }>();
  private nextId = 0;
  private stopping = false;
  /** Hears every message of the worker process: its event loop ran then. */
  private watch?: SilenceWatch;

  private constructor(private readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    this.ready = new Promise((resolve) => (this.markReady = resolve));
    child.on('message', (message: FromWorker) => {
      this.watch?.heard();
      this.settle(message);
    });
    child.on('error', () => undefined); // a failed fork is reported by start(); a failed send by its callback
    void this.exited.then((exit) => {
      this.watch?.stop();
      for (const { reject } of this.pending.values()) reject(new Error(`the worker process ${describeExit(exit)}`));
      this.pending.clear();
    });
  }

  /** Forks `entry` (this build's main.js) as the worker process; resolves once its workers run. */
  static async start(entry: string): Promise<WorkerProcess> {
    // Node's flags carry over (heap size, say), but not a debugger's port, which the api process holds.
    const execArgv = process.execArgv.filter((flag) => !flag.startsWith('--inspect'));
    const child = fork(entry, [WORKER_CHILD_FLAG], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const worker = new WorkerProcess(child);
    const starting = Promise.race([
      worker.ready,
      worker.exited.then((exit) => Promise.reject(new Error(`the worker process ${describeExit(exit)} while starting`))),
      new Promise<never>((_, reject) => child.once('error', (error) => reject(new Error(`the worker process could not be started: ${error.message}`)))),
    ]);
    try {
      await withTimeout(starting, START_TIMEOUT_MS, `the worker process did not start within ${START_TIMEOUT_MS / 1000} s`);
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    }
    return worker;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** `listener` runs once if the worker process ends while it is not being stopped. */
  onUnexpectedExit(listener: (description: string) => void): void {
    void this.exited.then((exit) => {
      if (!this.stopping) listener(`the worker process ${describeExit(exit)}`);
    });
  }

  /**
   * `listener` runs once if the worker process is alive but its event loop has not answered a ping
   * for `hangMs` (an endless loop, a stopped process): no exit would ever be seen, and its jobs
   * would wait forever, since the only check for stalled jobs runs in that same event loop. Once it
   * is being stopped, a hang is not reported but ended (SIGKILL), so that `stop()` returns and no
   * hung process outlives this one; one that still answers may take its time to finish its jobs.
   */
  onHang(hangMs: number, listener: (description: string) => void): void {
    this.watch = new SilenceWatch(hangMs, {
      onTick: () => this.send({ type: 'ping' }),
      onSilent: (silentMs) => {
        if (this.stopping) return void this.child.kill('SIGKILL');
        listener(`the worker process ${this.child.pid} has not answered for ${Math.round(silentMs / 1000)} s`);
      },
    }, { armed: true });
  }

  /** Ends a hung worker process at once; its active jobs go back to the queue once their locks expire. */
  kill(): void {
    this.expectExit();
    this.child.kill('SIGKILL');
  }

  /** The worker process' registry, as `getMetricsAsJSON()` gives it. */
  metrics(): Promise<ProcessMetrics> {
    const id = (this.nextId += 1);
    const answer = new Promise<ProcessMetrics>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.send({ type: 'metrics', id }, reject);
    });
    // Its queue gauges wait for Redis: with Redis down, that is the likelier cause than the process itself.
    const message = `the worker process did not report its metrics within ${METRICS_TIMEOUT_MS / 1000} s (Redis does not answer its queue reads, or the process is busy or hung)`;
    return withTimeout(answer, METRICS_TIMEOUT_MS, message).finally(() => this.pending.delete(id));
  }

  /**
   * From now on its exit is expected: on Ctrl-C the terminal signals both processes, and the worker
   * process may be gone before the api process has closed its HTTP server and asks it to stop.
   */
  expectExit(): void {
    this.stopping = true;
    this.watch?.setBusy(false); // one that hangs while it is being stopped is ended, busy or not
  }

  /**
   * Tells the worker process that this one blocks its event loop on purpose (a changed rules file
   * compiling: seconds per thousand jq rules in jq 1.6), or is done: the pings it misses meanwhile
   * are not a hang. The worker process says the same of itself: both compile the file at once, but
   * one may take seconds longer than the other, longer than a short hang period.
   */
  busy(busy: boolean): void {
    this.send({ type: 'busy', busy });
  }

  /** Lets the worker process finish the jobs it holds and exit; resolves when it has. */
  async stop(): Promise<void> {
    this.expectExit();
    this.send({ type: 'stop' });
    await this.exited;
  }

  private send(message: ToWorker, onError: (error: Error) => void = () => undefined): void {
    if (this.child.connected) this.child.send(message, (error) => error && onError(error));
    else onError(new Error('the worker process has gone'));
  }

  private settle(message: FromWorker): void {
    if (message.type === 'ready') return this.markReady();
    if (message.type === 'pong') return;
    if (message.type === 'busy') return this.watch?.setBusy(message.busy && !this.stopping);
    const waiting = this.pending.get(message.id);
    if (!waiting) return;
    if (message.metrics) waiting.resolve(message.metrics);
    else waiting.reject(new Error(`the worker process could not read its metrics: ${message.error ?? 'no answer'}`));
  }
}
