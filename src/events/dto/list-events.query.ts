import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches } from 'class-validator';
import type { EventStatus } from '../event-record';

const STATUSES: EventStatus[] = ['queued', 'no-match', 'dispatching', 'succeeded', 'failed'];

export class ListEventsQuery {
  @ApiPropertyOptional({ description: 'entity identifier', example: 'notification-service-prod' })
  @IsOptional() @IsString()
  entity?: string;

  @ApiPropertyOptional({ description: 'rule id that matched', example: 'deployment-degraded' })
  @IsOptional() @IsString()
  rule?: string;

  @ApiPropertyOptional({ enum: STATUSES })
  @IsOptional() @IsIn(STATUSES)
  status?: EventStatus;

  // Checked as written, one rule and one message: `0x2`, `1e2` or `2.0` are not limits, and a
  // repeated `limit` is refused once rather than by three contradictory checks.
  @ApiPropertyOptional({ type: Number, default: 50, minimum: 1, maximum: 200 })
  @IsOptional() @Matches(/^(?:[1-9]\d?|1\d\d|200)$/, { message: 'limit must be a whole number from 1 to 200, given once' })
  limit?: string;

  @ApiPropertyOptional({
    description: 'page cursor: `nextBefore` of the previous page (`<ms>:<eventId>`), or a time in ms since epoch to list events received before it',
    example: '1796063215485:evt_89874c27',
  })
  @IsOptional()
  @Matches(/^\d{1,15}(:.{1,200})?$/s, { message: 'before must be a page cursor (`nextBefore` of a page) or a time in ms since epoch, given once' })
  before?: string;
}
