import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { RulesService } from '../rules/rules.service';
import { ChangelogRegistrationService } from './changelog-registration.service';
import { namedBlueprints, ReconcileService } from './reconcile.service';
import { ChangeEventSource, EventSourceStatus } from './event-source';
import { KafkaChangeConsumer } from './kafka-change-consumer.service';
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
    kafka: KafkaChangeConsumer,
    private readonly config: AppConfig,
    private readonly reconcile: ReconcileService,
    private readonly registration: ChangelogRegistrationService,
    private readonly rules: RulesService,
  ) {
    this.sources = [smee, kafka];
  }

  async startAll(): Promise<void> {
    if (this.config.registration) await this.register(this.config.registration.publicUrl);
    if (this.config.reconcile) this.reconcile.start();
    await Promise.all(
      this.sources.map((source) =>
        source.start().catch((error: Error) => this.logger.error(`${source.name} source did not start: ${error.message}`)),
      ),
    );
  }

  async stopAll(): Promise<void> {
    await this.reconcile.stop();
    await Promise.all(this.sources.map((source) => source.stop().catch(() => undefined)));
  }

  /** One catch-up run now (aborting one in progress); for operators and tests. */
  async reconcileNow(): Promise<void> {
    await this.reconcile.trigger();
  }

  /** Start-up goes on when Port cannot be reached: registration is a convenience, logged either way. */
  private async register(publicUrl: string): Promise<void> {
    try {
      const result = await this.registration.register(namedBlueprints(this.rules.current()), publicUrl);
      this.logger.log(`changelogDestination: ${result.changed.length} blueprints changed, ${result.unchanged.length} already set, ${result.failed.length} failed`);
    } catch (error) {
      this.logger.error(`changelogDestination registration failed: ${(error as Error).message}`);
    }
  }

  /** The enabled sources only: a source that was never configured reports nothing; catch-up once it started. */
  statuses(): EventSourceStatus[] {
    const sources = this.sources.map((source) => source.status()).filter((status) => status.detail !== undefined || status.state !== 'stopped');
    const reconcile = this.reconcile.status();
    return reconcile ? [...sources, reconcile] : sources;
  }
}
