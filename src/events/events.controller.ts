import { Controller, Get, HttpCode, NotFoundException, Param, Post, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ListEventsQuery } from './dto/list-events.query';
import { AdminTokenGuard } from './admin-token.guard';
import { EventRecordStore } from './event-record.store';
import { EventReplayService } from './event-replay.service';

@ApiTags('admin')
@ApiBearerAuth('admin')
@ApiResponse({ status: 401, description: 'no ADMIN_TOKEN in Authorization' })
@UseGuards(AdminTokenGuard)
@Controller('events')
export class EventsController {
  constructor(
    private readonly records: EventRecordStore,
    private readonly replays: EventReplayService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Recent events, newest first, filtered by entity, rule or status' })
  list(@Query() query: ListEventsQuery) {
    return this.records.list({ ...query, limit: query.limit === undefined ? 50 : Number(query.limit) });
  }

  @Get(':eventId')
  @ApiOperation({ summary: "An event's record: source, entity, changes, matched rules, each action's status" })
  @ApiResponse({ status: 404, description: 'no record of the event (unknown, or past retention)' })
  async get(@Param('eventId') eventId: string) {
    const record = await this.records.get(eventId);
    if (!record) throw new NotFoundException(`no record of event ${eventId} (unknown, or past retention)`);
    return record;
  }

  @Post(':eventId/replay')
  @HttpCode(202)
  @ApiOperation({ summary: 'Evaluate the stored event again against the current rules and dispatch' })
  @ApiResponse({ status: 202, description: '{"eventId": "evt_…", "replay": 1, "matchedRules": ["…"], "actions": 1}: the actions are queued' })
  @ApiResponse({ status: 404, description: 'no record of the event (unknown, or past retention)' })
  replay(@Param('eventId') eventId: string) {
    return this.replays.replay(eventId);
  }
}
