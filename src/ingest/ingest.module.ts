import { Module } from '@nestjs/common';
import { EntityStateStore } from '../sources/entity-state.store';
import { EventIntakeService } from './event-intake.service';
import { WebhookController } from './webhook.controller';
import { WebhookSignatureGuard } from './webhook-signature.guard';

@Module({
  controllers: [WebhookController],
  providers: [EventIntakeService, WebhookSignatureGuard, EntityStateStore],
  exports: [EventIntakeService, EntityStateStore],
})
export class IngestModule {}
