import { Logger } from '@nestjs/common';
import type { AppConfig } from '../config/app-config';
import type { EventIntakeService } from '../ingest/event-intake.service';
import { MetricsService } from '../ops/metrics.service';
import { KafkaChangeConsumer } from './kafka-change-consumer.service';

// The consumer kafkajs would give: connect fails while `broker.down` (as it does once kafkajs' own retries are spent).
const broker = { down: true, connects: 0, disconnects: 0 };
jest.mock('kafkajs', () => ({
  logLevel: { WARN: 4 },
  Kafka: jest.fn().mockImplementation(() => ({
    admin: () => ({ connect: async () => undefined, disconnect: async () => undefined, fetchOffsets: async () => [], fetchTopicOffsets: async () => [] }),
    consumer: () => ({
      events: { GROUP_JOIN: 'join', CRASH: 'crash' },
      on: jest.fn(),
      connect: jest.fn(async () => {
        broker.connects += 1;
        if (broker.down) throw new Error('Connection error: connect ECONNREFUSED 127.0.0.1:9092');
      }),
      disconnect: jest.fn(async () => void (broker.disconnects += 1)),
      subscribe: jest.fn(async () => undefined),
      run: jest.fn(async () => undefined),
    }),
  })),
}));

describe(KafkaChangeConsumer.name, () => {
  const config = { kafka: { brokers: ['127.0.0.1:9092'], orgId: 'org', groupId: 'org.g', ssl: false, topic: 'org.change.log', sessionTimeoutMs: 30_000 } } as AppConfig;
  let sut: KafkaChangeConsumer;

  beforeEach(() => {
    jest.useFakeTimers();
    jest.spyOn(Logger.prototype, 'log').mockImplementation();
    jest.spyOn(Logger.prototype, 'error').mockImplementation();
    Object.assign(broker, { down: true, connects: 0, disconnects: 0 });
    sut = new KafkaChangeConsumer(config, {} as EventIntakeService, new MetricsService());
  });

  afterEach(async () => {
    await sut.stop();
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('should keep trying a broker that was down at start, with a growing delay, and consume once it is up', async () => {
    await sut.start();
    expect(sut.status()).toMatchObject({ state: 'reconnecting' });
    expect(Logger.prototype.error).toHaveBeenCalledWith('Kafka source could not start: Connection error: connect ECONNREFUSED 127.0.0.1:9092; trying again in 1 s');

    await jest.advanceTimersByTimeAsync(1_000 + 2_000 + 4_000);
    expect(broker.connects).toBe(4);
    broker.down = false;
    await jest.advanceTimersByTimeAsync(8_000);

    expect(broker.connects).toBe(5);
    expect(Logger.prototype.log).toHaveBeenCalledWith('consuming org.change.log as group org.g');
  });

  it('should stop trying once stopped', async () => {
    await sut.start();
    await sut.stop();
    await jest.advanceTimersByTimeAsync(60_000);

    expect(broker.connects).toBe(1);
    expect(sut.status()).toMatchObject({ state: 'stopped' });
  });
});
