import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
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

  @ApiPropertyOptional({ default: 50, minimum: 1, maximum: 200 })
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(200)
  limit?: number;

  @ApiPropertyOptional({
    description: 'page cursor: `nextBefore` of the previous page (`<ms>:<eventId>`), or a time in ms since epoch to list events received before it',
    example: '1796063215485:evt_89874c27',
  })
  @IsOptional() @IsString() @MaxLength(220)
  @Matches(/^\d{1,15}(:.+)?$/s, { message: 'before must be a page cursor (`nextBefore` of a page) or a time in ms since epoch' })
  before?: string;
}
