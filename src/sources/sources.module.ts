import { Module } from '@nestjs/common';
import { IngestModule } from '../ingest/ingest.module';
import { SmeeForwarderService } from './smee-forwarder.service';
import { SourcesService } from './sources.service';

/** ROLE=api|all: the event sources besides Port calling the webhook. */
@Module({
  imports: [IngestModule],
  providers: [SmeeForwarderService, SourcesService],
  exports: [SourcesService],
})
export class SourcesModule {}
