import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, IsUrl, Matches, Max, Min, MinLength, ValidateBy, ValidateIf } from 'class-validator';

// Only whole decimal numbers are converted: other text stays text. With stopAtFirstError the decorator
// nearest the property is checked first, so @IsInt() stands there: `PORT=abc` is told "must be an
// integer number", not a bound it fails as well.
const toInt = ({ value }: { value: unknown }) => (value === undefined || value === '' ? undefined : typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value);
const blankToUndefined = ({ value }: { value: unknown }) => (value === '' ? undefined : value);
const REDIS_URL_SHAPE = 'redis://[user:password@]host:port[/db] or rediss://…';

/**
 * What is wrong with a REDIS_URL, read as the connection will read it (redisOptionsFromUrl), in
 * words that never quote it: it may hold a password. Undefined when it is fine.
 */
export function redisUrlProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || !/^rediss?:\/\/[^\s]+$/.test(value)) return `must look like ${REDIS_URL_SHAPE}`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `is not a valid URL (a port above 65535, or a character in the password that must be %-encoded?): ${REDIS_URL_SHAPE}`;
  }
  if (!url.hostname) return `has no host: ${REDIS_URL_SHAPE}`;
  if (!/^\/?(\d+)?$/.test(url.pathname)) return 'names its database by number only (the path: /0, /1, …)';
  try {
    decodeURIComponent(url.username);
    decodeURIComponent(url.password);
  } catch {
    return 'has a malformed %-escape in its user or password';
  }
  return undefined;
}

const IsRedisUrl = () =>
  ValidateBy({ name: 'isRedisUrl', validator: { validate: (value) => redisUrlProblem(value) === undefined, defaultMessage: (args) => `REDIS_URL ${redisUrlProblem(args?.value)}` } });

/** The raw environment, by its variable names; validated once at boot. */
export class EnvironmentVariables {
  @IsOptional() @Transform(toInt) @Min(0) @Max(65535) @IsInt()
  PORT?: number;

  @IsOptional() @IsString() @MinLength(1)
  HOST?: string;

  @IsOptional() @IsRedisUrl()
  REDIS_URL?: string;

  @IsOptional() @Matches(/^[A-Za-z0-9_.:-]+$/, { message: 'QUEUE_PREFIX may contain letters, digits and _ . : - only' })
  QUEUE_PREFIX?: string;

  @IsOptional() @IsIn(['api', 'worker', 'all'])
  ROLE?: 'api' | 'worker' | 'all';

  @IsOptional() @IsIn(['child', 'inline'])
  WORKER_PROCESS?: 'child' | 'inline';

  @IsOptional() @Transform(toInt) @Min(2) @Max(3600) @IsInt()
  WORKER_PROCESS_HANG_SECONDS?: number;

  @IsOptional() @IsString() @MinLength(1)
  RULES_FILE?: string;

  @Transform(blankToUndefined) @IsOptional() @IsString()
  PORT_CLIENT_ID?: string;

  @Transform(blankToUndefined) @ValidateIf((env: EnvironmentVariables) => env.PORT_CLIENT_SECRET !== undefined || env.WEBHOOK_SIGNATURE === 'required')
  @IsString({ message: 'PORT_CLIENT_SECRET must be set when WEBHOOK_SIGNATURE=required' })
  @MinLength(1, { message: 'PORT_CLIENT_SECRET must be set when WEBHOOK_SIGNATURE=required' })
  PORT_CLIENT_SECRET?: string;

  @IsOptional() @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  PORT_API_URL?: string;

  @IsOptional() @IsIn(['required', 'off'])
  WEBHOOK_SIGNATURE?: 'required' | 'off';

  @Transform(blankToUndefined) @IsOptional() @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] }, { message: 'SLACK_WEBHOOK_URL must be an http(s) URL' })
  SLACK_WEBHOOK_URL?: string;

  @Transform(blankToUndefined) @IsOptional() @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  SMEE_URL?: string;

  @Transform(blankToUndefined) @IsOptional() @IsString() @MinLength(16, { message: 'ADMIN_TOKEN must be at least 16 characters' })
  ADMIN_TOKEN?: string;

  @Transform(blankToUndefined) @IsOptional() @IsString()
  HTTP_ACTION_ALLOWED_HOSTS?: string;

  @Transform(blankToUndefined) @IsOptional() @Matches(/^[^\s,]+:\d+(,[^\s,]+:\d+)*$/, { message: 'KAFKA_BROKERS must be a comma list of host:port' })
  KAFKA_BROKERS?: string;

  @Transform(blankToUndefined) @ValidateIf((env: EnvironmentVariables) => env.KAFKA_BROKERS !== undefined)
  @IsString({ message: 'KAFKA_ORG_ID must be set when KAFKA_BROKERS is' }) @MinLength(1, { message: 'KAFKA_ORG_ID must be set when KAFKA_BROKERS is' })
  KAFKA_ORG_ID?: string;

  @Transform(blankToUndefined) @IsOptional() @IsString()
  KAFKA_GROUP_ID?: string;

  @Transform(blankToUndefined) @IsOptional() @IsString()
  KAFKA_USERNAME?: string;

  @Transform(blankToUndefined) @ValidateIf((env: EnvironmentVariables) => env.KAFKA_USERNAME !== undefined)
  @IsString({ message: 'KAFKA_PASSWORD must be set when KAFKA_USERNAME is' }) @MinLength(1, { message: 'KAFKA_PASSWORD must be set when KAFKA_USERNAME is' })
  KAFKA_PASSWORD?: string;

  @Transform(blankToUndefined) @IsOptional() @IsIn(['true', 'false'])
  KAFKA_SSL?: 'true' | 'false';

  // Brokers refuse a session outside group.min/max.session.timeout.ms (by default 6 s to 5 or 30 min).
  @IsOptional() @Transform(toInt) @Min(6_000) @Max(300_000) @IsInt()
  KAFKA_SESSION_TIMEOUT_MS?: number;

  @Transform(blankToUndefined) @IsOptional() @Matches(/^\d+(s|m|h)?$/, { message: 'RECONCILE_INTERVAL must be seconds, or a number with s, m or h (e.g. 5m)' })
  RECONCILE_INTERVAL?: string;

  @Transform(blankToUndefined) @IsOptional() @IsIn(['true', 'false'])
  RECONCILE_ON_START?: 'true' | 'false';

  @Transform(blankToUndefined) @IsOptional() @IsIn(['true', 'false'])
  REGISTER_CHANGELOG_DESTINATION?: 'true' | 'false';

  @Transform(blankToUndefined) @ValidateIf((env: EnvironmentVariables) => env.REGISTER_CHANGELOG_DESTINATION === 'true' || env.PUBLIC_URL !== undefined)
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] }, { message: 'PUBLIC_URL must be the http(s) URL Port reaches this service at (needed by REGISTER_CHANGELOG_DESTINATION=true)' })
  PUBLIC_URL?: string;

  @IsOptional() @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL?: string;

  @Transform(blankToUndefined) @IsOptional() @IsIn(['true', 'false'])
  LOG_SYNC?: 'true' | 'false';

  @IsOptional() @Transform(toInt) @Min(60) @IsInt()
  DEDUPE_TTL_SECONDS?: number;

  @IsOptional() @Transform(toInt) @Min(60) @IsInt()
  EVENT_RETENTION_SECONDS?: number;

  @IsOptional() @Transform(toInt) @Min(1) @Max(10_000) @IsInt()
  SLACK_MAX_PER_SECOND?: number;

  @IsOptional() @Transform(toInt) @Min(1) @Max(50) @IsInt()
  ACTION_ATTEMPTS?: number;

  @IsOptional() @Transform(toInt) @Min(1) @Max(1_000) @IsInt()
  WORKER_CONCURRENCY?: number;

  @IsOptional() @Transform(toInt) @Min(10) @Max(600_000) @IsInt()
  ACTION_RETRY_BASE_MS?: number;
}
