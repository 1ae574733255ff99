import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsDefined, IsISO8601, IsNotEmpty, IsObject, IsOptional, IsString, ValidateNested } from 'class-validator';

/*
 * The Port changelog event after any Automation envelope is unwrapped and `blueprintIdentifier` /
 * `entityIdentifier` are copied into `blueprint` / `entity` (see change-event.parser.ts).
 * Only the fields the service relies on are checked; everything else Port adds is kept as sent,
 * so validate with the default (non-whitelisting) options and never forbid unknown properties.
 * Examples come from port-samples/ (kafka-changelog-entity-update-vm-free_storage.json).
 */

const SNAPSHOT = { type: 'object', additionalProperties: true, nullable: true } as const;

const BEFORE_EXAMPLE = {
  identifier: 'storage-example',
  title: 'Storage Example VM',
  blueprint: 'vm',
  properties: { region: 'eu-west-1', storage_size: 10, free_storage: 6 },
  relations: {},
};
const AFTER_EXAMPLE = { ...BEFORE_EXAMPLE, properties: { ...BEFORE_EXAMPLE.properties, free_storage: 0.5 } };

export class PortTriggerDto {
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    example: { orgId: 'org_sYG4DOJZNGy8bYnt', userId: 'h2Mf13aRSCYQCUPIcqufoP4XRLwAt8Od@clients' },
  })
  @IsOptional()
  @IsObject()
  by?: Record<string, unknown>;

  // Documented for /docs only: Port's set of origins grows, so it is not checked.
  @ApiPropertyOptional({ example: 'API', description: 'UI, API, AUTOMATION, …' })
  origin?: string;

  @ApiPropertyOptional({ example: '2022-07-15T16:44:56.288Z', description: 'ISO-8601 time of the change' })
  @IsOptional()
  @IsISO8601({ strict: true })
  at?: string;
}

export class PortContextDto {
  @ApiProperty({ example: 'vm', description: 'Blueprint identifier (Automation bodies: `blueprintIdentifier`)' })
  @IsString()
  @IsNotEmpty()
  blueprint: string;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    example: 'storage-example',
    description: 'Entity identifier (Automation bodies: `entityIdentifier`); null for runs',
  })
  @IsOptional()
  @IsString()
  entity?: string | null;

  @ApiPropertyOptional({ type: String, nullable: true, example: 'r_jE5FhDURh4Uen2Qr' })
  @IsOptional()
  @IsString()
  runId?: string | null;
}

export class PortDiffDto {
  @ApiPropertyOptional({ ...SNAPSHOT, description: 'Entity before the change; null on CREATE', example: BEFORE_EXAMPLE })
  @IsOptional()
  @IsObject()
  before?: Record<string, unknown> | null;

  @ApiPropertyOptional({ ...SNAPSHOT, description: 'Entity after the change; null on DELETE', example: AFTER_EXAMPLE })
  @IsOptional()
  @IsObject()
  after?: Record<string, unknown> | null;
}

export class PortChangeEventDto {
  @ApiProperty({ example: 'UPDATE', description: 'CREATE | UPDATE | DELETE | TIMER_EXPIRED | … (any case)' })
  @IsString()
  @IsNotEmpty()
  action: string;

  @ApiProperty({ example: 'entity', description: 'entity, run, blueprint, …' })
  @IsString()
  @IsNotEmpty()
  resourceType: string;

  @ApiPropertyOptional({ example: 'SUCCESS' })
  @IsOptional()
  @IsString()
  status?: string;

  @ApiPropertyOptional({ type: () => PortTriggerDto })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => PortTriggerDto)
  trigger?: PortTriggerDto;

  @ApiProperty({ type: () => PortContextDto })
  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => PortContextDto)
  context: PortContextDto;

  @ApiPropertyOptional({ type: () => PortDiffDto, nullable: true, description: 'Absent on TIMER_EXPIRED' })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => PortDiffDto)
  diff?: PortDiffDto | null;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'Only on Kafka `ORG_ID.change.log` messages; kept as received',
    example: { type: 'KAFKA' },
  })
  changelogDestination?: Record<string, unknown>;
}
