import { Module } from '@nestjs/common';
import { EventEvaluationService } from './event-evaluation.service';

/** ROLE=api|all: events are evaluated where they arrive (webhook, Kafka, catch-up, replay). */
@Module({ providers: [EventEvaluationService], exports: [EventEvaluationService] })
export class EvaluationModule {}
