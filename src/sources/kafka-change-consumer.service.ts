import { Injectable, Logger } from '@nestjs/common';
import { Consumer, EachMessagePayload, Kafka, logLevel, LogEntry } from 'kafkajs';
import { parsePortBody } from '../changes/change-event.parser';
import { withTimeout } from '../common/with-timeout';
import { AppConfig } from '../config/app-config';
import { EventIntakeService, QueueUnavailableError } from '../ingest/event-intake.service';
import { MetricsService } from '../ops/metrics.service';
import { parseJsonText } from '../common/json-text';
import { ChangeEventSource, EventSourceStatus } from './event-source';

const REDIS_RETRY_PAUSE_MS = 2_000;
const PIN_TIMEOUT_MS = 30_000;
const MAX_CONNECT_RETRY_MS = 30_000;

type KafkaSettings = NonNullable<AppConfig['kafka']>;

// A member that died without leaving holds its partitions until its session times out.
function heartbeatFor(settings: KafkaSettings): number {
  return Math.min(3_000, Math.floor(settings.sessionTimeoutMs / 3));
}

/** The partitions of `topic` where `groupId` has never committed, with their current end. */
async function unsetPartitionEnds(kafka: Kafka, groupId: string, topic: string): Promise<{ partition: number; high: string }[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const unset = new Set((committed?.partitions ?? []).filter((p) => Number(p.offset) < 0).map((p) => p.partition));
    if (unset.size === 0) return [];
    return (await admin.fetchTopicOffsets(topic)).filter((p) => unset.has(p.partition));
  } finally {
    await admin.disconnect();
  }
}

/**
 * Consumes Port's `ORG_ID.change.log` into the same intake as the webhook. At least once: an
 * offset is committed only after its message is queued (or found not to be a change event);
 * while Redis is down the partition pauses and the message is read again.
 */
@Injectable()
export class KafkaChangeConsumer implements ChangeEventSource {
  readonly name = 'kafka' as const;
  private readonly logger = new Logger(KafkaChangeConsumer.name);
  private consumer?: Consumer;
  private state: EventSourceStatus['state'] = 'stopped';
  private retryTimer?: NodeJS.Timeout;
  private connectFailures = 0;
  private stopping = false;

  constructor(
    private readonly config: AppConfig,
    private readonly intake: EventIntakeService,
    private readonly metrics: MetricsService,
  ) {}

  async start(): Promise<void> {
    if (!this.config.kafka || this.consumer || this.retryTimer) return;
    this.stopping = false;
    await this.connect(this.config.kafka);
  }

  /**
   * Connects, subscribes and runs the consumer. A broker that cannot be reached (kafkajs has tried
   * for about a minute by then), or a refusal (credentials, no such topic yet), is tried again with a
   * backoff up to 30 s, for as long as the process runs: a broker down while the service starts
   * must not leave it without its source until someone restarts it. Readiness says `reconnecting`.
   */
  private async connect(settings: KafkaSettings): Promise<void> {
    const kafka = new Kafka({
      clientId: 'changelog-reactor',
      brokers: settings.brokers,
      ssl: settings.ssl,
      sasl: settings.sasl ? { mechanism: 'scram-sha-512', ...settings.sasl } : undefined,
      logLevel: logLevel.WARN,
      // kafkajs' own lines are chatty and carry broker details only; never the SASL password.
      logCreator: () => (entry: LogEntry) => this.logger.warn(`kafkajs: ${entry.log.message}`),
    });
    if (this.state !== 'reconnecting') this.state = 'starting';
    const consumer = kafka.consumer({ groupId: settings.groupId, maxWaitTimeInMs: 100, sessionTimeout: settings.sessionTimeoutMs, heartbeatInterval: heartbeatFor(settings) });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, () => (this.state = 'connected'));
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.state = payload.restart ? 'reconnecting' : 'failed';
      this.logger.error(`Kafka consumer crashed (${payload.restart ? 'restarting' : 'gave up'}): ${payload.error.message}`);
    });
    try {
      await this.pinStartOfNewPartitions(kafka, settings);
      await consumer.connect();
      await consumer.subscribe({ topic: settings.topic, fromBeginning: false });
      await consumer.run({ eachMessage: (payload) => this.handle(payload) });
    } catch (error) {
      await consumer.disconnect().catch(() => undefined);
      if (this.consumer !== consumer || this.stopping) return;
      this.consumer = undefined;
      this.state = 'reconnecting';
      const delay = Math.min(1_000 * 2 ** this.connectFailures++, MAX_CONNECT_RETRY_MS);
      this.logger.error(`Kafka source could not start: ${(error as Error).message}; trying again in ${delay / 1000} s`);
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        void this.connect(settings);
      }, delay);
      return;
    }
    this.connectFailures = 0;
    this.logger.log(`consuming ${settings.topic} as group ${settings.groupId}`);
  }

  /**
   * A group without a committed offset on a partition starts there at the latest offset, decided at
   * its first fetch. A process killed before its first commit on that partition would make the next
   * one decide again, later, and skip what arrived in between. So, for such partitions, the current
   * end is committed first: as kafkajs' own `admin.setOffsets` does, by a short-lived member of the
   * group that seeks there and leaves (setOffsets itself also asks DescribeGroups, which librdkafka's
   * mock cluster lacks). Only on a group's first start; best effort, with a warning when it fails.
   */
  private async pinStartOfNewPartitions(kafka: Kafka, settings: KafkaSettings): Promise<void> {
    const { groupId, topic } = settings;
    try {
      const ends = await unsetPartitionEnds(kafka, groupId, topic);
      if (ends.length === 0) return;
      const pinner = kafka.consumer({ groupId, sessionTimeout: settings.sessionTimeoutMs, heartbeatInterval: heartbeatFor(settings) });
      await pinner.connect();
      try {
        await pinner.subscribe({ topic, fromBeginning: true });
        await withTimeout(
          new Promise<void>((resolve, reject) => {
            pinner.on(pinner.events.FETCH, () => void pinner.stop().then(resolve, reject));
            pinner.run({ eachBatchAutoResolve: false, eachBatch: async () => undefined }).catch(reject);
            pinner.pause([{ topic }]);
            for (const end of ends) pinner.seek({ topic, partition: end.partition, offset: end.high });
          }),
          PIN_TIMEOUT_MS,
        );
      } finally {
        await pinner.disconnect();
      }
      this.logger.log(`group ${groupId} starts ${topic} at the current end of partitions ${ends.map((end) => end.partition).join(', ')}`);
    } catch (error) {
      this.logger.warn(`could not fix where group ${groupId} starts ${topic}: ${(error as Error).message}`);
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const consumer = this.consumer;
    this.consumer = undefined;
    await consumer?.disconnect();
    this.state = 'stopped';
  }

  status(): EventSourceStatus {
    return { name: this.name, state: this.state, detail: this.config.kafka?.topic };
  }

  private async handle({ topic, partition, message, pause }: EachMessagePayload): Promise<void> {
    const where = `${topic}[${partition}]@${message.offset}`;
    // Read as the webhook route reads a body: the same message is an event on every path or on none.
    const json = parseJsonText(message.value?.toString('utf8') ?? '');
    // JSON.parse's words quote the value: only the poisoning reason is given as it is.
    if (!json.ok) return this.skip(where, json.poisoned ? json.error : 'not JSON');
    const parsed = parsePortBody(json.value, { source: 'kafka', receivedAt: new Date().toISOString() });
    if (!parsed.ok) return this.skip(where, `not a Port change event (${parsed.errors.map((e) => e.field).join(', ')})`);
    try {
      await this.intake.accept(parsed.event);
    } catch (error) {
      // Not committed: pause so that neither a Redis outage nor a failing evaluation spins, then read the message again.
      const reason = error instanceof QueueUnavailableError ? error.message : `event not accepted: ${(error as Error).message}`;
      this.logger.warn(`${where}: ${reason}; retrying in ${REDIS_RETRY_PAUSE_MS} ms`);
      setTimeout(pause(), REDIS_RETRY_PAUSE_MS).unref();
      throw error;
    }
  }

  /** Logged and counted as the webhook counts a 400 (`rejected_invalid`), then committed: a bad message never blocks its partition. */
  private skip(where: string, why: string): void {
    this.metrics.eventsReceived.inc({ source: 'kafka', outcome: 'rejected_invalid' });
    this.logger.warn(`skipped ${where}: ${why}`);
  }
}
