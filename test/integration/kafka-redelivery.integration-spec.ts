import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { Admin, Kafka, logLevel } from 'kafkajs';
import { AddressInfo, connect, createServer, Server, Socket } from 'node:net';
import { parsePortBody } from '../../src/changes/change-event.parser';
import { EventRecord } from '../../src/events/event-record';
import { QueueName } from '../../src/queue/queue-names';
import { KafkaMockCluster } from '../support/kafka-mock-cluster';
import { closedPort, MockTarget } from '../support/mock-target';
import { readSample } from '../support/port-samples';
import { ServiceProcess, vmScalerServiceEnv } from '../support/service-process';
import { recordedEvents, REDIS_URL, removeKeys, uniquePrefix, waitFor } from '../support/test-app';

const ORG = 'org_redelivery';
const TOPIC = `${ORG}.change.log`;
const GROUP = `${ORG}.changelog-reactor`;
// Probes go to one partition; the message to another, where the group has never committed: the
// service must have fixed its start there, or the next process would begin at the latest offset and skip it.
const PARTITION = 0;
const MESSAGE_PARTITION = 3;
const ADMIN = 'admin-token-kafka-redelivery-0123';
const vm = readSample('kafka-changelog-entity-update-vm-free_storage.json') as Record<string, unknown>;
const change = { ...vm, context: { blueprint: 'vm', entity: 'vm-redelivered' }, trigger: { ...(vm.trigger as object), at: '2026-12-01T08:00:00.000Z' } };
// The id the service derives from the change itself: looked for in what reaches Redis, and its record asked for.
const parsed = parsePortBody(change, { source: 'kafka', receivedAt: '' });
const eventId = parsed.ok ? parsed.event.id : '';

/** Between a service and Redis: once held, what the service sends is kept here and never reaches Redis. */
class RedisHoldProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private readonly held: string[] = [];
  private holding = false;

  async start(): Promise<string> {
    const target = new URL(REDIS_URL);
    const [host, port] = [target.hostname, Number(target.port || 6379)];
    this.server = createServer((client) => {
      const upstream = connect(port, host);
      const held = this.held.push('') - 1;
      client.on('data', (chunk: Buffer) => (this.holding ? (this.held[held] += chunk.toString('latin1')) : upstream.write(chunk)));
      upstream.on('data', (chunk: Buffer) => client.write(chunk));
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('error', () => undefined);
        socket.on('close', () => [client, upstream].forEach((s) => s.destroy()));
      }
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    target.host = `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return target.toString();
  }

  hold(): void {
    this.holding = true;
  }

  heldText(): string {
    return this.held.join('\n');
  }

  async stop(): Promise<void> {
    this.sockets.forEach((socket) => socket.destroy());
    if (this.server?.listening) await new Promise((resolve) => this.server!.close(resolve));
  }
}

describe('Kafka source: a message fetched but not queued when the process is killed', () => {
  jest.setTimeout(60_000);
  const cluster = new KafkaMockCluster();
  const proxy = new RedisHoldProxy();
  const scaler = new MockTarget();
  const prefix = uniquePrefix();
  const first = new ServiceProcess();
  const second = new ServiceProcess();
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const actions = new Queue(QueueName.Actions, { connection: redis, prefix });
  let admin: Admin;
  let env: Record<string, string>;

  beforeAll(async () => {
    await Promise.all([cluster.start(), scaler.start()]);
    await cluster.produce(TOPIC, ['{"warm-up": "creates the topic"}'], PARTITION);
    admin = new Kafka({ clientId: 'test-admin', brokers: [cluster.bootstrap], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    env = {
      ...vmScalerServiceEnv(scaler, prefix), ADMIN_TOKEN: ADMIN,
      KAFKA_BROKERS: cluster.bootstrap, KAFKA_ORG_ID: ORG, KAFKA_SSL: 'false',
      // Kafka's default minimum session: the killed member's partition is handed on 6 s after its last heartbeat, not 30 s.
      KAFKA_SESSION_TIMEOUT_MS: '6000',
    };
  });
  afterAll(async () => {
    first.kill();
    second.kill();
    await Promise.all([proxy.stop(), scaler.stop(), admin?.disconnect()]);
    await cluster.stop();
    await actions.close();
    redis.disconnect();
    await removeKeys(prefix);
  });

  const startService = async (service: ServiceProcess, redisUrl: string) => {
    const port = await closedPort();
    service.start({ ...env, REDIS_URL: redisUrl, PORT: String(port) });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => undefined))?.status === 200, 20_000, 'readiness');
    return `http://127.0.0.1:${port}`;
  };
  const offsets = async (partition = PARTITION) => {
    const [[committed], [end]] = await Promise.all([
      admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] }).then(([topic]) => topic.partitions.filter((p) => p.partition === partition)),
      admin.fetchTopicOffsets(TOPIC).then((partitions) => partitions.filter((p) => p.partition === partition)),
    ]);
    return { committed: Number(committed.offset), end: Number(end.high) };
  };
  const scaled = () => scaler.to('/scale/vm-redelivered');

  it('should deliver it again to the next consumer of the group, and act on it once', async () => {
    await startService(first, await proxy.start());
    // Not a change event, so skipped without Redis; committed means the group joined, reads and commits.
    await waitFor(async () => {
      await cluster.produce(TOPIC, ['{"probe": true}'], PARTITION);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const { committed, end } = await offsets();
      return committed === end;
    }, 30_000, 'the first process to consume and commit the probes');

    proxy.hold();
    const { end: offset } = await offsets(MESSAGE_PARTITION);
    await cluster.produce(TOPIC, [JSON.stringify(change)], MESSAGE_PARTITION);
    // Its intake's write (record + dedupe) twice: once, then again after that timed out, so the consumer
    // still holds the message uncommitted (one that committed before queueing would never try again).
    const intakeTries = () => proxy.heldText().split(`:delivered:${eventId}`).length - 1;
    await waitFor(async () => intakeTries() >= 2, 15_000, 'the intake to try the held message twice');
    first.kill();
    await waitFor(async () => !first.running, 5_000, 'the first process to die');
    await proxy.stop();

    // Fetched and mid-intake, but neither queued nor committed.
    expect(await recordedEvents(prefix)).toEqual([]);
    expect(await actions.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed'])).toEqual([]);
    expect((await offsets(MESSAGE_PARTITION)).committed).toBe(offset);

    const base = await startService(second, REDIS_URL);
    await waitFor(async () => scaled().length > 0, 30_000, 'the redelivered message to be acted on');
    // Settled: the offset is committed and no job is left that could act again.
    await waitFor(async () => {
      const counts = await actions.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      return (await offsets(MESSAGE_PARTITION)).committed > offset && Object.values(counts).every((n) => n === 0);
    }, 10_000, 'the second process to commit and go idle');
    expect(scaled()).toHaveLength(1);
    const record = (await (await fetch(`${base}/events/${eventId}`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as EventRecord;
    expect(record).toMatchObject({ source: 'kafka', entity: 'vm-redelivered', status: 'succeeded' });
    expect(record.actions.map((a) => [a.type, a.status, a.attempts])).toEqual([['http', 'succeeded', 1]]);
  });
});
