import { Module } from '@nestjs/common';
import { EvaluationModule } from '../rules/evaluation.module';
import { AdminTokenGuard } from './admin-token.guard';
import { EventReplayService } from './event-replay.service';
import { EventsController } from './events.controller';

/** ROLE=api|all: the admin HTTP routes (`/events`, replay). */
@Module({
  imports: [EvaluationModule],
  controllers: [EventsController],
  providers: [EventReplayService, AdminTokenGuard],
})
export class AdminModule {}
