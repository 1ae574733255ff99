import { ChildProcess, spawn } from 'node:child_process';
import { Kafka, logLevel, Producer } from 'kafkajs';

/**
 * librdkafka's mock cluster, served by Debian's kcat while it runs (`apt-get install kcat`;
 * CI installs it): a real Kafka protocol peer on 127.0.0.1, topics created on first use.
 */
export class KafkaMockCluster {
  bootstrap = '';
  private child?: ChildProcess;
  private producer?: Producer;

  async start(): Promise<this> {
    this.child = spawn('kcat', ['-b', 'x:9092', '-X', 'test.mock.num.brokers=1', '-d', 'mock', '-C', '-t', 'reactor-mock-keepalive'], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.bootstrap = await new Promise<string>((resolve, reject) => {
      let seen = '';
      this.child!.once('error', (error) => reject(new Error(`kcat is needed for the Kafka tests (apt-get install kcat): ${error.message}`)));
      this.child!.stderr!.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        const match = /bootstrap\.servers=(127\.0\.0\.1:\d+)/.exec(seen);
        if (match) resolve(match[1]);
      });
    });
    this.child.stderr!.resume();
    return this;
  }

  /** To `partition` when given; else kafkajs spreads them over the mock's 4 partitions. */
  async produce(topic: string, values: string[], partition?: number): Promise<void> {
    if (!this.producer) {
      this.producer = new Kafka({ clientId: 'test-producer', brokers: [this.bootstrap], logLevel: logLevel.NOTHING }).producer();
      await this.producer.connect();
    }
    await this.producer.send({ topic, messages: values.map((value) => ({ value, partition })) });
  }

  async stop(): Promise<void> {
    await this.producer?.disconnect();
    this.child?.kill('SIGKILL');
  }
}
