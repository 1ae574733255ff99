import { Injectable, NotFoundException } from '@nestjs/common';
import { EventEvaluationService } from '../rules/event-evaluation.service';
import { EventRecordStore } from './event-record.store';

/** Evaluates a stored event again against the current rules; the n-th replay's actions get their own job ids. */
@Injectable()
export class EventReplayService {
  constructor(
    private readonly records: EventRecordStore,
    private readonly evaluation: EventEvaluationService,
  ) {}

  async replay(eventId: string): Promise<{ eventId: string; replay: number; matchedRules: string[]; actions: number }> {
    const event = await this.records.storedEvent(eventId);
    if (!event) throw new NotFoundException(`no stored event ${eventId} to replay`);
    const replay = await this.records.nextReplay(eventId);
    const { matched, actions } = await this.evaluation.evaluate(event, replay);
    return { eventId, replay, matchedRules: matched, actions };
  }
}
