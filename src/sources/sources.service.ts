import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { ChangeEventSource, EventSourceStatus } from './event-source';
import { SmeeForwarderService } from './smee-forwarder.service';

/**
 * Starts the enabled sources once the HTTP server listens (smee forwards to it) and stops them
 * before the queues close, so no source hands an event to a closed intake.
 */
@Injectable()
export class SourcesService {
  private readonly logger = new Logger(SourcesService.name);
  private readonly sources: ChangeEventSource[];

  constructor(
    smee: SmeeForwarderService,
    private readonly config: AppConfig,
  ) {
    this.sources = [smee];
  }

  async startAll(): Promise<void> {
    if (this.config.kafka) {
      // Configuration is validated (group id rules included); the consumer itself is not built yet.
      this.logger.error(`KAFKA_BROKERS is set, but this version has no Kafka source yet: ${this.config.kafka.topic} is not consumed`);
    }
    await Promise.all(
      this.sources.map((source) =>
        source.start().catch((error: Error) => this.logger.error(`${source.name} source did not start: ${error.message}`)),
      ),
    );
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.sources.map((source) => source.stop().catch(() => undefined)));
  }

  /** The enabled sources only: a source that was never configured reports nothing. */
  statuses(): EventSourceStatus[] {
    return this.sources.map((source) => source.status()).filter((status) => status.detail !== undefined || status.state !== 'stopped');
  }
}
