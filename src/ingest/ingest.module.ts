import { Module } from '@nestjs/common';
import { EvaluationModule } from '../rules/evaluation.module';
import { EntityStateStore } from '../sources/entity-state.store';
import { EventIntakeService } from './event-intake.service';
import { WebhookController } from './webhook.controller';
import { WebhookSignatureGuard } from './webhook-signature.guard';

@Module({
  imports: [EvaluationModule],
  controllers: [WebhookController],
  providers: [EventIntakeService, WebhookSignatureGuard, EntityStateStore],
  exports: [EventIntakeService, EntityStateStore],
})
export class IngestModule {}
