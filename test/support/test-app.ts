import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { getQueueToken } from '@nestjs/bullmq';
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../src/bootstrap';
import type { ChangeEvent } from '../../src/changes/change-event';
import { AppConfig, buildAppConfig } from '../../src/config/app-config';
import { ActionProcessor } from '../../src/queue/action.processor';
import { QueueName } from '../../src/queue/queue-names';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A queue prefix of its own per test app, so runs and tests never see each other's jobs. */
export function uniquePrefix(): string {
  return `test-${randomBytes(5).toString('hex')}`;
}

export function writeRulesFile(yaml: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'reactor-rules-')), 'rules.yaml');
  writeFileSync(path, yaml);
  return path;
}

export const NO_RULES = 'rules: []\n';

export interface TestApp {
  app: NestFastifyApplication;
  config: AppConfig;
  queue(name: QueueName): Queue;
  /** The events this app recorded (everything it acknowledged), by receipt time. */
  recorded(): Promise<ChangeEvent[]>;
  close(): Promise<void>;
}

export async function startTestApp(env: Record<string, string | undefined> = {}): Promise<TestApp> {
  const config = buildAppConfig({
    REDIS_URL,
    QUEUE_PREFIX: uniquePrefix(),
    LOG_LEVEL: 'silent',
    RULES_FILE: env.RULES_FILE ?? writeRulesFile(NO_RULES),
    ...env,
  });
  const app = await createApp(config, { bufferLogs: false });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  // Closing a BullMQ queue whose connection is still starting makes that connection emit an unheard error.
  await Promise.all(Object.values(QueueName).map((name) => app.get<Queue>(getQueueToken(name)).waitUntilReady()));
  if (config.runsWorkers) await app.get(ActionProcessor).worker.waitUntilReady();
  const queues = new Map<QueueName, Queue>();
  const queue = (name: QueueName) => {
    if (!queues.has(name)) queues.set(name, new Queue(name, { connection: new Redis(config.redis.url, { maxRetriesPerRequest: null }), prefix: config.queuePrefix }));
    return queues.get(name)!;
  };
  const close = async () => {
    await app.close();
    await removeKeys(config.queuePrefix, config.redis.url);
    await Promise.all([...queues.values()].map(async (q) => { await q.close(); (await q.client).disconnect(); }));
  };
  return { app, config, queue, close, recorded: () => recordedEvents(config.queuePrefix, config.redis.url) };
}

/** Every event recorded under a queue prefix (what the service acknowledged), by receipt time, read straight from Redis. */
export async function recordedEvents(prefix: string, url = REDIS_URL): Promise<ChangeEvent[]> {
  const redis = new Redis(url);
  try {
    const ids = await redis.zrange(`${prefix}:records`, 0, -1);
    const raws = await Promise.all(ids.map((id) => redis.hget(`${prefix}:record:${id}`, 'event')));
    return raws.filter((raw): raw is string => raw !== null).map((raw) => JSON.parse(raw) as ChangeEvent);
  } finally {
    redis.disconnect();
  }
}

export async function removeKeys(prefix: string, url = REDIS_URL): Promise<void> {
  const redis = new Redis(url);
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
}

export async function waitFor<T>(probe: () => Promise<T | undefined | false>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
