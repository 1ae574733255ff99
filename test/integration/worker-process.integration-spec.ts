import { readFileSync, writeFileSync } from 'node:fs';
import { closedPort, hang, MockTarget } from '../support/mock-target';
import { readSample } from '../support/port-samples';
import { ServiceProcess } from '../support/service-process';
import { REDIS_URL, removeKeys, uniquePrefix, waitFor, writeRulesFile } from '../support/test-app';

const vm = readSample('kafka-changelog-entity-update-vm-free_storage.json') as Record<string, unknown>;
const vmEvent = (n: number) => ({ ...vm, context: { blueprint: 'vm', entity: `vm-${n}` }, trigger: { ...(vm.trigger as object), at: new Date(1_800_000_000_000 + n).toISOString() } });

/** The pids a process has forked, from /proc (Linux). */
const childrenOf = (pid: number): number[] => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
};
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const pidsOf = (output: string, message: string): Set<number> =>
  new Set(output.split('\n').filter((line) => line.includes(message)).map((line) => (JSON.parse(line) as { pid: number }).pid));

describe('ROLE=all: webhooks in the api process, actions in a worker process it forks', () => {
  jest.setTimeout(90_000);
  const slack = new MockTarget();
  const prefix = uniquePrefix();
  let env: Record<string, string>;
  let base = '';
  let service: ServiceProcess;

  beforeAll(async () => {
    await slack.start();
    const port = await closedPort();
    base = `http://127.0.0.1:${port}`;
    env = {
      REDIS_URL, QUEUE_PREFIX: prefix, ROLE: 'all', HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'info',
      SLACK_WEBHOOK_URL: slack.url('/services/T/B/wp'), SLACK_MAX_PER_SECOND: '1000',
      RULES_FILE: writeRulesFile('rules:\n  - id: vm-note\n    blueprint: vm\n    do:\n      - slack: { text: "{{ .context.entity }}" }\n'),
    };
  });
  beforeEach(() => (service = new ServiceProcess()));
  afterEach(() => service.kill());
  afterAll(async () => {
    await slack.stop();
    await removeKeys(prefix);
  });

  const ready = () => waitFor(async () => (await fetch(`${base}/health/ready`).catch(() => undefined))?.status === 200, 20_000, 'readiness');
  /** Starts ROLE=all, waits until it is ready, and returns its worker process' pid. */
  const startWithWorker = async (extra: Record<string, string> = {}): Promise<number> => {
    service.start({ ...env, ...extra });
    await ready();
    const [worker] = childrenOf(service.pid!);
    return worker;
  };
  const post = async (body: unknown) => {
    const response = await fetch(`${base}/webhooks/port`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    expect(response.status).toBe(202);
  };

  it('should deliver from the worker process, report both processes in one /metrics, and stop both on SIGTERM', async () => {
    const worker = await startWithWorker();
    expect(worker).toBeDefined();
    // Log lines go out in batches (every 100 ms): the line may follow the first ready answer.
    await waitFor(async () => service.output.includes(`workers in process ${worker}`), 2_000, 'the api process naming its worker process');

    for (let n = 0; n < 5; n += 1) await post(vmEvent(n));
    await waitFor(async () => slack.requests.length >= 5, 20_000, 'five Slack messages');
    // Each process writes its log lines in batches of its own (every 100 ms): either may be seen first.
    const lines = (message: string) => service.output.split(message).length - 1;
    await waitFor(async () => lines('event evaluated') >= 5 && lines('action succeeded') >= 5, 5_000, 'five event and five action lines');

    expect(pidsOf(service.output, 'event evaluated')).toEqual(new Set([service.pid]));
    expect(pidsOf(service.output, 'action succeeded')).toEqual(new Set([worker]));
    const metrics = await (await fetch(`${base}/metrics`)).text();
    // Counted by the worker process, received by the api process: both in one answer.
    expect(metrics).toContain('reactor_actions_total{type="slack",outcome="succeeded"} 5');
    expect(metrics).toContain('reactor_events_received_total{source="webhook",outcome="accepted"} 5');
    // Both processes read the queue; the figure is the queue's, not twice it.
    expect(metrics).toContain('reactor_queue_jobs{queue="actions",state="completed"} 5');

    expect(await service.terminate(20_000)).toEqual({ code: 0, signal: null });
    expect(alive(worker)).toBe(false);
  });

  it('should stop with code 1 when its worker process dies, rather than take webhooks no one acts on', async () => {
    const worker = await startWithWorker();
    process.kill(worker, 'SIGKILL');

    await waitFor(async () => !service.running, 20_000, 'the api process to stop');
    expect(service.output).toContain('the worker process was killed by SIGKILL: stopping');
    expect(await service.terminate(1_000)).toEqual({ code: 1, signal: null });
  });

  it('should kill a hung worker process and stop with code 1, and leave a working one alone', async () => {
    const worker = await startWithWorker({ WORKER_PROCESS_HANG_SECONDS: '2' });
    // Three hang periods of a busy but answering worker process: no false alarm.
    const before = slack.requests.length;
    for (let n = 200; n < 210; n += 1) await post(vmEvent(n));
    await waitFor(async () => slack.requests.length >= before + 10, 20_000, 'ten Slack messages');
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    expect(service.running).toBe(true);

    process.kill(worker, 'SIGSTOP'); // alive, but its event loop does not run
    await waitFor(async () => !service.running, 20_000, 'the api process to stop');
    expect(service.output).toContain(`the worker process ${worker} has not answered for`);
    expect(service.output).toContain('killing it and stopping');
    expect(await service.terminate(1_000)).toEqual({ code: 1, signal: null });
    expect(alive(worker)).toBe(false);
  });

  it('should be killed by its worker process when a rule\'s jq never ends, so that the service restarts', async () => {
    const rules = writeRulesFile('rules:\n  - id: endless\n    blueprint: vm\n    when:\n      - jq: "def f: f; f"\n    do:\n      - slack: { text: "never" }\n');
    const worker = await startWithWorker({ WORKER_PROCESS_HANG_SECONDS: '2', RULES_FILE: rules });
    await new Promise((resolve) => setTimeout(resolve, 3_000)); // answering pings: no false alarm
    expect(service.running).toBe(true);

    // jq runs on the api process's event loop and has no time limit: this request never gets an answer.
    const hung = fetch(`${base}/webhooks/port`, { method: 'POST', body: JSON.stringify(vmEvent(300)), headers: { 'content-type': 'application/json' } }).catch(() => undefined);
    await waitFor(async () => !service.running, 15_000, 'the api process to be killed');
    await hung;

    expect(service.output).toContain(`the api process ${service.pid} has sent no ping for`);
    expect(await service.terminate(1_000)).toEqual({ code: null, signal: 'SIGKILL' });
    await waitFor(async () => !alive(worker), 20_000, 'the worker process to stop with it');
  });

  it('should take neither process for hung while a large rules file compiles for longer than the hang period', async () => {
    const rulesFile = writeRulesFile('rules:\n  - id: vm-note\n    blueprint: vm\n    do:\n      - slack: { text: "{{ .context.entity }}" }\n');
    await startWithWorker({ WORKER_PROCESS_HANG_SECONDS: '2', RULES_FILE: rulesFile });
    // 200 jq rules and a typo: each expression is compiled alone to name it, ~30 ms each, in both
    // processes at once; each discounts its own stall when it judges the other. Waited for up to 75 s:
    // ~13 s alone, but over 40 s once on a machine busy with other work (CI at 050f0c9).
    const rule = (n: number) => `  - id: r${n}\n    when:\n      - jq: ".entity.properties.n${n} > ${n}"\n    do:\n      - slack: { text: "{{ .entity.title }} ${n}" }\n`;
    writeFileSync(rulesFile, `rules:\n${Array.from({ length: 200 }, (_, n) => rule(n)).join('')}  - id: typo\n    when:\n      - jq: ".a +"\n    do:\n      - slack: { text: x }\n`);
    await waitFor(async () => service.output.split('refused, keeping the 1 rules loaded before').length === 3, 75_000, 'both processes to refuse the file');

    expect(service.output).not.toContain('has sent no ping');
    expect(service.output).not.toContain('has not answered');
    expect(service.running).toBe(true);
    expect(await service.terminate(20_000)).toEqual({ code: 0, signal: null });
  });

  it('should answer /metrics with 503, not a partial answer, while the worker process does not answer', async () => {
    const worker = await startWithWorker();
    process.kill(worker, 'SIGSTOP');
    let stalled: Response;
    try {
      stalled = await fetch(`${base}/metrics`);
    } finally {
      process.kill(worker, 'SIGCONT');
    }

    expect(stalled.status).toBe(503);
    expect(await stalled.text()).toContain('did not report its metrics');
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
    expect(await service.terminate(20_000)).toEqual({ code: 0, signal: null });
  });

  it('should leave no worker process behind when the api process is killed', async () => {
    const worker = await startWithWorker();
    service.kill();

    await waitFor(async () => !alive(worker), 20_000, 'the orphaned worker process to stop');
  });

  it('should leave no worker process behind when the api process is ended while the worker process starts', async () => {
    service.start(env);
    // SIGTERM as soon as the worker process is forked, before it is ready: the api process has no
    // handler yet and ends at once.
    const worker = await waitFor(async () => childrenOf(service.pid!)[0], 20_000, 'the worker process to be forked');
    expect(await service.terminate(5_000)).toEqual({ code: null, signal: 'SIGTERM' });

    await waitFor(async () => !alive(worker), 20_000, 'the worker process to stop');
    expect(service.output).toContain('went away while this worker process was starting: exiting');
    expect(service.output).not.toContain('workers running');
  });

  it('should say why it exits with code 1 when an action outlasts the 30 s a shutdown is given', async () => {
    const target = new MockTarget();
    await target.start();
    try {
      target.otherwise(hang);
      service.start({
        ...env, WORKER_PROCESS: 'inline', HTTP_ACTION_ALLOWED_HOSTS: `127.0.0.1:${target.port}`,
        RULES_FILE: writeRulesFile(`rules:\n  - id: vm-slow\n    blueprint: vm\n    do:\n      - http: { url: "${target.url('/slow')}", timeoutMs: 60000 }\n`),
      });
      await ready();
      await post(vmEvent(200));
      await waitFor(async () => target.requests.length > 0, 10_000, 'the action to call its target');

      expect(await service.terminate(40_000)).toEqual({ code: 1, signal: null });
      expect(service.output).toContain('shutdown did not finish within 30 s (an action still running, its timeoutMs longer than the time left, or Redis unreachable): exiting with code 1');
    } finally {
      await target.stop();
    }
  });

  it('should run everything in one process with WORKER_PROCESS=inline', async () => {
    service.start({ ...env, WORKER_PROCESS: 'inline' });
    await ready();
    const before = slack.requests.length;
    await post(vmEvent(100));
    await waitFor(async () => slack.requests.length > before && service.output.includes('action succeeded'), 20_000, 'the Slack message');

    expect(childrenOf(service.pid!)).toEqual([]);
    expect(pidsOf(service.output, 'action succeeded')).toEqual(new Set([service.pid]));
    expect(await service.terminate(20_000)).toEqual({ code: 0, signal: null });
  });
});
