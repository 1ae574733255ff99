import { connect } from 'node:net';
import { closedPort, MockTarget } from '../support/mock-target';
import { readSample } from '../support/port-samples';
import { ServiceProcess, vmScalerServiceEnv } from '../support/service-process';
import { REDIS_URL, removeKeys, uniquePrefix, waitFor } from '../support/test-app';

const vm = readSample('kafka-changelog-entity-update-vm-free_storage.json') as Record<string, unknown>;

describe('SIGTERM during load (built service, ROLE=all)', () => {
  jest.setTimeout(90_000);
  const scaler = new MockTarget();
  const prefix = uniquePrefix();
  const first = new ServiceProcess();
  const second = new ServiceProcess();
  const third = new ServiceProcess();
  let env: Record<string, string>;
  let base = '';

  beforeAll(async () => {
    await scaler.start();
    const port = await closedPort();
    base = `http://127.0.0.1:${port}`;
    env = { ...vmScalerServiceEnv(scaler, prefix), REDIS_URL, PORT: String(port) };
  });
  afterAll(async () => {
    first.kill();
    second.kill();
    third.kill();
    await scaler.stop();
    await removeKeys(prefix);
  });

  const ready = () => waitFor(async () => (await fetch(`${base}/health/ready`).catch(() => undefined))?.status === 200, 20_000, 'readiness');

  it('should lose no acknowledged event and exit 0', async () => {
    first.start(env);
    await ready();
    const acknowledged: string[] = [];
    let serial = 0;
    let stopSending = false;
    const sender = async () => {
      while (!stopSending) {
        serial += 1;
        const body = { ...vm, context: { blueprint: 'vm', entity: `vm-${serial}` }, trigger: { ...(vm.trigger as object), at: new Date(1_800_000_000_000 + serial).toISOString() } };
        try {
          const response = await fetch(`${base}/webhooks/port`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
          if (response.status === 202) {
            const answer = (await response.json()) as { eventId: string; duplicate: boolean };
            if (!answer.duplicate) acknowledged.push(answer.eventId);
          } else {
            await response.arrayBuffer();
          }
        } catch {
          return; // refused: not acknowledged, Port would retry
        }
      }
    };
    const senders = Array.from({ length: 20 }, sender);
    await new Promise((resolve) => setTimeout(resolve, 800));
    const exit = first.terminate(15_000);
    await new Promise((resolve) => setTimeout(resolve, 700));
    stopSending = true;
    await Promise.all(senders);

    const exited = await exit;
    if (exited === 'timeout') process.stdout.write(first.output.split('\n').filter((l) => !/action succeeded|event evaluated/.test(l)).join('\n').slice(-4000));
    expect(exited).toEqual({ code: 0, signal: null });
    expect(acknowledged.length).toBeGreaterThan(20);

    // Whatever the first process had not dispatched yet, a fresh one on the same Redis does.
    second.start(env);
    await ready();
    await waitFor(async () => acknowledged.every((id) => scaler.requests.some((r) => String(r.headers['idempotency-key']).startsWith(`${id}.`))), 30_000, 'every acknowledged event to be dispatched');
    const keys = scaler.requests.map((r) => String(r.headers['idempotency-key']));
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('should still exit 0 in time when a client sent half a request and stopped', async () => {
    // A port of its own: the first test's second process still listens on the shared one.
    const port = await closedPort();
    third.start({ ...env, PORT: String(port) });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => undefined))?.status === 200, 20_000, 'readiness');
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('POST /webhooks/port HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"act');
    await new Promise((resolve) => setTimeout(resolve, 300));

    const exited = await third.terminate(25_000);

    // Without a cut-off, closing waits for that request until the hard exit at 30 s, code 1.
    expect(exited).toEqual({ code: 0, signal: null });
    socket.destroy();
  });
});
