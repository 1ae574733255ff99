import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, NotFoundException } from '@nestjs/common';
import { Queue } from 'bullmq';
import { jobOptions } from '../queue/job-options';
import { EvaluateEventJob } from '../queue/job-types';
import { JobName, QueueName } from '../queue/queue-names';
import { EventRecordStore } from './event-record.store';

/** Replays go through the events queue like any event, so an api-only process can ask and a worker does the work. */
@Injectable()
export class EventReplayService {
  constructor(
    private readonly records: EventRecordStore,
    @InjectQueue(QueueName.Events) private readonly events: Queue<EvaluateEventJob>,
  ) {}

  async replay(eventId: string): Promise<{ eventId: string; replay: number }> {
    const event = await this.records.storedEvent(eventId);
    if (!event) throw new NotFoundException(`no stored event ${eventId} to replay`);
    const replay = await this.records.nextReplay(eventId);
    await this.events.add(JobName.EvaluateEvent, { event, replay }, jobOptions(JobName.EvaluateEvent, `${eventId}.replay-${replay}`));
    return { eventId, replay };
  }
}
