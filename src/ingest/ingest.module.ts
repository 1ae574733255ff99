import { Module } from '@nestjs/common';
import { EventIntakeService } from './event-intake.service';
import { WebhookController } from './webhook.controller';
import { WebhookSignatureGuard } from './webhook-signature.guard';

@Module({
  controllers: [WebhookController],
  providers: [EventIntakeService, WebhookSignatureGuard],
  exports: [EventIntakeService],
})
export class IngestModule {}
