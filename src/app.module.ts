import { DynamicModule, Module, ValidationPipe } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import { AllExceptionsFilter } from './common/all-exceptions.filter';
import { loggerOptions } from './common/logger.options';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { AdminModule } from './events/admin.module';
import { EventsModule } from './events/events.module';
import { IngestModule } from './ingest/ingest.module';
import { MetricsModule } from './ops/metrics.module';
import { OpsModule } from './ops/ops.module';
import { QueueModule } from './queue/queue.module';
import { RulesModule } from './rules/rules.module';
import { SourcesModule } from './sources/sources.module';
import { WorkerModule } from './queue/worker.module';

/** Composed per ROLE: `api` gets HTTP ingest, `worker` the queue workers, `all` both. */
@Module({})
export class AppModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot(loggerOptions(config)),
        MetricsModule,
        QueueModule,
        RulesModule,
        EventsModule,
        OpsModule,
        ...(config.runsApi ? [IngestModule, AdminModule, SourcesModule] : []),
        ...(config.runsWorkers ? [WorkerModule] : []),
      ],
      providers: [
        { provide: APP_PIPE, useValue: new ValidationPipe({ whitelist: true, transform: true }) },
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
      ],
    };
  }
}
