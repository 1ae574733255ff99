import { Module } from '@nestjs/common';
import { ActionsModule } from '../actions/actions.module';
import { ActionProcessor } from './action.processor';

/** Only in ROLE=worker|all: the BullMQ workers and what they call. */
@Module({
  imports: [ActionsModule],
  providers: [ActionProcessor],
})
export class WorkerModule {}
