import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
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

  @ApiPropertyOptional({ description: 'page cursor: `nextBefore` of the previous page (ms since epoch)' })
  // Not @Type(Number): it reads an empty `before=` as 0, a silent empty page, rather than an error.
  @IsOptional() @Transform(({ value }) => (value === '' ? Number.NaN : Number(value))) @IsInt() @Min(0)
  before?: number;
}
