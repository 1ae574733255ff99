import { Injectable, Logger } from '@nestjs/common';
import { Consumer, EachMessagePayload, Kafka, logLevel, LogEntry } from 'kafkajs';
import { parsePortBody } from '../changes/change-event.parser';
import { AppConfig } from '../config/app-config';
import { EventIntakeService, QueueUnavailableError } from '../ingest/event-intake.service';
import { ChangeEventSource, EventSourceStatus } from './event-source';

const REDIS_RETRY_PAUSE_MS = 2_000;

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

  constructor(
    private readonly config: AppConfig,
    private readonly intake: EventIntakeService,
  ) {}

  async start(): Promise<void> {
    const settings = this.config.kafka;
    if (!settings || this.consumer) return;
    const kafka = new Kafka({
      clientId: 'changelog-reactor',
      brokers: settings.brokers,
      ssl: settings.ssl,
      sasl: settings.sasl ? { mechanism: 'scram-sha-512', ...settings.sasl } : undefined,
      logLevel: logLevel.WARN,
      // kafkajs' own lines are chatty and carry broker details only; never the SASL password.
      logCreator: () => (entry: LogEntry) => this.logger.warn(`kafkajs: ${entry.log.message}`),
    });
    this.state = 'starting';
    // A member that died without leaving holds its partitions until its session times out.
    const heartbeatInterval = Math.min(3_000, Math.floor(settings.sessionTimeoutMs / 3));
    this.consumer = kafka.consumer({ groupId: settings.groupId, maxWaitTimeInMs: 100, sessionTimeout: settings.sessionTimeoutMs, heartbeatInterval });
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => (this.state = 'connected'));
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      this.state = payload.restart ? 'reconnecting' : 'failed';
      this.logger.error(`Kafka consumer crashed (${payload.restart ? 'restarting' : 'gave up'}): ${payload.error.message}`);
    });
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: settings.topic, fromBeginning: false });
    await this.consumer.run({ eachMessage: (payload) => this.handle(payload) });
    this.logger.log(`consuming ${settings.topic} as group ${settings.groupId}`);
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
    this.consumer = undefined;
    this.state = 'stopped';
  }

  status(): EventSourceStatus {
    return { name: this.name, state: this.state, detail: this.config.kafka?.topic };
  }

  private async handle({ topic, partition, message, pause }: EachMessagePayload): Promise<void> {
    const where = `${topic}[${partition}]@${message.offset}`;
    let raw: unknown;
    try {
      raw = JSON.parse(message.value?.toString('utf8') ?? '');
    } catch {
      return this.logger.warn(`skipped ${where}: not JSON`);
    }
    const parsed = parsePortBody(raw, { source: 'kafka', receivedAt: new Date().toISOString() });
    if (!parsed.ok) return this.logger.warn(`skipped ${where}: not a Port change event (${parsed.errors.map((e) => e.field).join(', ')})`);
    try {
      await this.intake.accept(parsed.event);
    } catch (error) {
      if (!(error instanceof QueueUnavailableError)) throw error;
      // Not committed: pause so a Redis outage does not spin, then read the message again.
      this.logger.warn(`${where}: ${error.message}; retrying in ${REDIS_RETRY_PAUSE_MS} ms`);
      setTimeout(pause(), REDIS_RETRY_PAUSE_MS).unref();
      throw error;
    }
  }
}
