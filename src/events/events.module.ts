import { Global, Module } from '@nestjs/common';
import { EventRecordStore } from './event-record.store';

/** The event records, used by workers (writes) and the admin API (reads). */
@Global()
@Module({ providers: [EventRecordStore], exports: [EventRecordStore] })
export class EventsModule {}
