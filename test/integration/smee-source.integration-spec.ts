import { getQueueToken } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Queue } from 'bullmq';
import { Socket } from 'node:net';
import { createApp } from '../../src/bootstrap';
import { AppConfig, buildAppConfig } from '../../src/config/app-config';
import { signPortWebhook } from '../../src/ingest/webhook-signature';
import { QueueName } from '../../src/queue/queue-names';
import { SmeeForwarderService } from '../../src/sources/smee-forwarder.service';
import { FakeSmeeServer } from '../support/fake-smee-server';
import { closedPort } from '../support/mock-target';
import { readSample } from '../support/port-samples';
import { NO_RULES, recordedEvents, REDIS_URL, removeKeys, uniquePrefix, waitFor, writeRulesFile } from '../support/test-app';

const SECRET = 'port-client-secret-for-tests';
const CHANNEL = 'reactor-dev-channel';
const sample = readSample('kafka-changelog-entity-update-vm-free_storage.json') as { trigger: object };
/** A distinct change per call (its trigger time), so dedupe does not hide a second delivery. */
const changelog = (at: string) => ({ ...sample, trigger: { ...sample.trigger, at } });

function portHeaders(body: unknown, secret = SECRET): Record<string, string> {
  const timestamp = String(Math.floor(Date.now() / 1000));
  return { 'X-Port-Timestamp': timestamp, 'X-Port-Signature': signPortWebhook(secret, timestamp, JSON.stringify(body)) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const openSocketsTo = (port: number) =>
  (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles()
    .filter((handle) => handle instanceof Socket && !handle.destroyed && handle.remotePort === port);

describe('smee channel forwarded to POST /webhooks/port', () => {
  let smee: FakeSmeeServer;
  let config: AppConfig;
  let app: NestFastifyApplication;
  let sut: SmeeForwarderService;
  const answers: number[] = [];

  const queued = () => recordedEvents(config.queuePrefix);
  const answered = (count: number) => waitFor(async () => answers.length >= count, 10_000, `${count} webhook answers`);
  const forSmee = (channel: string) => Object.assign(new AppConfig(), config, { smeeUrl: smee.channelUrl(channel) });

  beforeAll(async () => {
    smee = await new FakeSmeeServer().start();
    config = buildAppConfig({
      REDIS_URL,
      QUEUE_PREFIX: uniquePrefix(),
      ROLE: 'api',
      SMEE_URL: smee.channelUrl(CHANNEL),
      PORT: String(await closedPort()),
      PORT_CLIENT_SECRET: SECRET,
      WEBHOOK_SIGNATURE: 'required',
      LOG_LEVEL: 'silent',
      RULES_FILE: writeRulesFile(NO_RULES),
    });
    app = await createApp(config);
    app.getHttpAdapter().getInstance().addHook('onResponse', async (request, reply) => {
      if (request.url === '/webhooks/port') answers.push(reply.statusCode);
    });
    await app.listen(config.http.port, '127.0.0.1');
    // Closing a BullMQ queue whose connection is still starting makes that connection emit an unheard error.
    await Promise.all(Object.values(QueueName).map((name) => app.get<Queue>(getQueueToken(name)).waitUntilReady()));
    sut = new SmeeForwarderService(config);
    await sut.start();
    await waitFor(async () => sut.status().state === 'connected', 10_000, 'the smee stream');
  });

  afterAll(async () => {
    await sut?.stop();
    await app?.close();
    if (config) await removeKeys(config.queuePrefix);
    await smee?.stop();
  });

  it('should report the channel host and path while connected', () => {
    expect(sut.status()).toEqual({ name: 'smee', state: 'connected', detail: `127.0.0.1:${smee.port}/${CHANNEL}` });
    expect(openSocketsTo(smee.port)).toHaveLength(1);
  });

  it('should take a signed Port changelog body in exactly once', async () => {
    const body = changelog('2026-01-01T10:00:00.000Z');

    expect(smee.publish(CHANNEL, portHeaders(body), body)).toBe(1);
    await answered(1);
    await sleep(200);

    expect(answers).toEqual([202]);
    const events = await queued();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ source: 'webhook', blueprint: 'vm', entity: 'storage-example', action: 'UPDATE' });
  });

  it('should skip a message that is not a smee delivery, with a warning, and forward the next one', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn');
    for (const data of ['not json', 'null', '[1,2]', '{"x-port-timestamp":"1"}']) expect(smee.publishRaw(CHANNEL, data)).toBe(1);
    const body = changelog('2026-01-01T10:00:30.000Z');
    smee.publish(CHANNEL, portHeaders(body), body);

    await answered(2);
    expect(answers[1]).toBe(202);
    expect(await queued()).toHaveLength(2);
    expect(warn.mock.calls.map(([message]) => message).filter((message) => String(message).startsWith('smee message skipped'))).toEqual([
      'smee message skipped: its data is not JSON',
      'smee message skipped: its data is not a JSON object',
      'smee message skipped: its data is not a JSON object',
      'smee message skipped: it carries no body',
    ]);
    warn.mockRestore();
  });

  it('should not queue a body signed with another secret', async () => {
    const body = changelog('2026-01-01T10:01:00.000Z');

    smee.publish(CHANNEL, portHeaders(body, 'not-the-port-secret'), body);
    await answered(3);

    expect(answers[2]).toBe(401);
    expect(await queued()).toHaveLength(2);
  });

  it('should reconnect after the stream drops and forward what comes next', async () => {
    smee.dropConnections();
    await waitFor(async () => sut.status().state === 'reconnecting', 5_000, 'reconnecting');
    // eventsource waits its default 3 s before reconnecting (smee.io sends no `retry:`).
    await waitFor(async () => sut.status().state === 'connected' && smee.openStreams(CHANNEL) === 1, 10_000, 'the new stream');
    const body = changelog('2026-01-01T10:02:00.000Z');

    expect(smee.publish(CHANNEL, portHeaders(body), body)).toBe(1);
    await answered(4);

    expect(answers[3]).toBe(202);
    expect(await queued()).toHaveLength(3);
  }, 20_000);

  it('should connect afresh when smee answers an error status, which eventsource does not retry', async () => {
    const channel = 'refused-channel';
    smee.refuse(channel, 503);
    const other = new SmeeForwarderService(forSmee(channel));
    await other.start();
    await waitFor(async () => smee.attempts(channel) >= 2, 5_000, 'a second attempt');
    expect(other.status().state).toBe('reconnecting');

    smee.refuse(channel);
    await waitFor(async () => other.status().state === 'connected', 10_000, 'the stream after the refusals');
    const body = changelog('2026-01-01T10:03:00.000Z');
    smee.publish(channel, portHeaders(body), body);
    await answered(5);
    await other.stop();

    expect(answers[4]).toBe(202);
    expect(await queued()).toHaveLength(4);
    await waitFor(async () => smee.openStreams(channel) === 0, 2_000, 'the stream to close');
  }, 20_000);

  it('should give up when smee refuses the channel (4xx), which retrying will not change', async () => {
    const channel = 'disabled-channel';
    smee.refuse(channel, 403);
    const other = new SmeeForwarderService(forSmee(channel));

    await other.start();
    await waitFor(async () => other.status().state === 'failed', 5_000, 'failed');
    await sleep(1_200);

    expect(smee.attempts(channel)).toBe(1);
    await other.stop();
  });

  it('should stop, even while waiting to reconnect, and leave no connection or timer behind', async () => {
    smee.dropConnections();
    await waitFor(async () => sut.status().state === 'reconnecting', 5_000, 'reconnecting');
    const attempts = smee.attempts(CHANNEL);

    await sut.stop();
    await sleep(3_500);

    expect(sut.status()).toEqual({ name: 'smee', state: 'stopped', detail: `127.0.0.1:${smee.port}/${CHANNEL}` });
    expect(smee.attempts(CHANNEL)).toBe(attempts);
    expect(smee.openStreams(CHANNEL)).toBe(0);
    expect(openSocketsTo(smee.port)).toHaveLength(0);
    expect(openSocketsTo(config.http.port)).toHaveLength(0);
  }, 20_000);

  it("should log the channel's host and path only, never its query (a token)", async () => {
    const lines: string[] = [];
    for (const level of ['log', 'warn', 'error'] as const) jest.spyOn(Logger.prototype, level).mockImplementation((message: unknown) => void lines.push(String(message)));
    const other = new SmeeForwarderService(Object.assign(new AppConfig(), config, { smeeUrl: `${smee.channelUrl('token-channel')}?token=smee-s3cret` }));

    await other.start();
    await waitFor(async () => other.status().state === 'connected', 10_000, 'the stream');
    await other.stop();
    jest.restoreAllMocks();

    expect(lines).toEqual(expect.arrayContaining([`Connected to http://127.0.0.1:${smee.port}/token-channel`]));
    expect(lines.join('\n')).not.toContain('smee-s3cret');
  });

  it('should do nothing when SMEE_URL is unset', async () => {
    const idle = new SmeeForwarderService(Object.assign(new AppConfig(), config, { smeeUrl: undefined }));

    await idle.start();

    expect(idle.status()).toEqual({ name: 'smee', state: 'stopped', detail: undefined });
  });
});
