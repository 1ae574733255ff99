import { Module } from '@nestjs/common';
import { PortApiClient } from '../actions/port/port-api.client';
import { AppConfig } from '../config/app-config';
import { EventIntakeService } from '../ingest/event-intake.service';
import { IngestModule } from '../ingest/ingest.module';
import { MetricsService } from '../ops/metrics.service';
import { RulesService } from '../rules/rules.service';
import { ChangelogRegistrationService } from './changelog-registration.service';
import { EntityStateStore } from './entity-state.store';
import { ReconcileService } from './reconcile.service';
import { KafkaChangeConsumer } from './kafka-change-consumer.service';
import { SmeeForwarderService } from './smee-forwarder.service';
import { SourcesService } from './sources.service';

/** ROLE=api|all: the event sources besides Port calling the webhook, and the catch-up from Port's API. */
@Module({
  imports: [IngestModule],
  providers: [
    SmeeForwarderService,
    KafkaChangeConsumer,
    SourcesService,
    {
      provide: PortApiClient,
      inject: [AppConfig],
      useFactory: (config: AppConfig) =>
        new PortApiClient({ baseUrl: config.port.apiUrl, clientId: config.port.clientId, clientSecret: config.port.clientSecret }),
    },
    {
      provide: ReconcileService,
      inject: [PortApiClient, EntityStateStore, EventIntakeService, RulesService, AppConfig, MetricsService],
      useFactory: (port: PortApiClient, store: EntityStateStore, intake: EventIntakeService, rules: RulesService, config: AppConfig, metrics: MetricsService) =>
        new ReconcileService(port, store, intake, rules, config.reconcile ?? { onStart: false }, { metrics, deletionTraceMs: config.dedupeTtlSeconds * 1000 }),
    },
    {
      provide: ChangelogRegistrationService,
      inject: [PortApiClient, AppConfig],
      useFactory: (port: PortApiClient, config: AppConfig) => new ChangelogRegistrationService(port, { consumesKafka: config.kafka !== undefined }),
    },
  ],
  exports: [SourcesService],
})
export class SourcesModule {}
