import { Module } from '@nestjs/common';
import { ActionsModule } from '../actions/actions.module';
import { EventEvaluationService } from '../rules/event-evaluation.service';
import { ActionProcessor } from './action.processor';
import { EventProcessor } from './event.processor';

/** Only in ROLE=worker|all: the BullMQ workers and what they call. */
@Module({
  imports: [ActionsModule],
  providers: [EventProcessor, ActionProcessor, EventEvaluationService],
})
export class WorkerModule {}
