import {
  Allow,
  ArrayNotEmpty,
  IsArray,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateBy,
  ValidationOptions,
} from 'class-validator';

export const RULE_EVENTS = ['CREATE', 'UPDATE', 'DELETE', 'TIMER_EXPIRED'] as const;
export const DEFAULT_RULE_EVENTS = ['CREATE', 'UPDATE', 'DELETE'] as const;
export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export const RULE_ID_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;
/** The keys a `when` item or a `do` item is recognised by; exactly one per item. */
export const CONDITION_KINDS = ['changed', 'crosses', 'jq'] as const;
export const ACTION_KINDS = ['slack', 'http', 'port'] as const;
export const PORT_PATCH_FIELDS = ['properties', 'relations', 'title', 'team', 'icon'] as const;

const STRING = { message: 'must be a string' };
const NOT_EMPTY = { message: 'must not be empty' };

function IsStringOrStringList(allowEmptyList: boolean, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isStringOrStringList',
      validator: {
        validate: (value: unknown) =>
          (typeof value === 'string' && value !== '') ||
          (Array.isArray(value) && (allowEmptyList || value.length > 0) && value.every((item) => typeof item === 'string' && item !== '')),
        defaultMessage: () => (allowEmptyList ? 'must be a name or a list of names' : 'must be a name or a non-empty list of names'),
      },
    },
    options,
  );
}

function IsStringMap(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isStringMap',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((item) => typeof item === 'string'),
        defaultMessage: () => 'must be a map of strings',
      },
    },
    options,
  );
}

/** A number, or a string holding one (so `above: ${THRESHOLD}` works). */
function IsNumberLike(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isNumberLike',
      validator: {
        validate: (value: unknown) => toNumber(value) !== undefined,
        defaultMessage: () => 'must be a number',
      },
    },
    options,
  );
}

// A decimal number written as text, as rules.schema.json's numberLike: not JS's "0x10", "0b1" or "Infinity".
const DECIMAL = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;

/** The number a value stands for: numbers, and strings holding a finite decimal number. */
export function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string' || !DECIMAL.test(value)) return undefined;
  const number = Number(value);
  return Number.isFinite(number) ? number : undefined;
}

// class-validator runs the decorator nearest the property first and, with stopAtFirstError,
// reports only the first failure per field: so the type check sits last in each list.

/** One rule of the rules file. `when` and `do` items are checked by their own classes below. */
export class RuleDto {
  @MaxLength(100, { message: 'must be at most 100 characters' })
  @Matches(RULE_ID_PATTERN, { message: 'must be a slug: lowercase letters, digits, "-" and "_", starting with a letter or digit' })
  @IsString(STRING)
  id: string;

  @IsOptional() @IsString(STRING) description?: string;

  @IsOptional() @IsStringOrStringList(false) blueprint?: string | string[];

  @IsOptional()
  @IsIn(RULE_EVENTS, { each: true, message: `must contain only ${RULE_EVENTS.join(', ')}` })
  @ArrayNotEmpty({ message: 'must list at least one event (leave `events` out for CREATE, UPDATE and DELETE)' })
  @IsArray({ message: `must be a list of ${RULE_EVENTS.join(', ')}` })
  events?: string[];

  @IsOptional() @IsArray({ message: 'must be a list of conditions' }) when?: unknown[];

  @ArrayNotEmpty({ message: 'must list at least one action' }) @IsArray({ message: 'must be a list of actions' }) do: unknown[];
}

/** `changed: path` with optional `from` / `to` (a value or a list; null is a value). */
export class ChangedConditionDto {
  @IsNotEmpty(NOT_EMPTY) @IsString(STRING) changed: string;
  @Allow() from?: unknown;
  @Allow() to?: unknown;
}

/** `crosses: path` with exactly one of `above` / `below`. */
export class CrossesConditionDto {
  @IsNotEmpty(NOT_EMPTY) @IsString(STRING) crosses: string;
  @IsOptional() @IsNumberLike() above?: number | string;
  @IsOptional() @IsNumberLike() below?: number | string;
}

export class JqConditionDto {
  @IsNotEmpty(NOT_EMPTY) @IsString(STRING) jq: string;
}

export class SlackActionDto {
  @IsOptional() @IsNotEmpty(NOT_EMPTY) @IsString(STRING) webhookUrl?: string;
  @IsOptional() @IsString(STRING) text?: string;
  @IsOptional() @IsObject({ each: true, message: 'must contain only objects' }) @IsArray({ message: 'must be a list of Block Kit blocks' })
  blocks?: unknown[];
}

export class HttpActionDto {
  @IsOptional() @IsIn(HTTP_METHODS, { message: `must be one of ${HTTP_METHODS.join(', ')}` }) method?: string;
  @IsNotEmpty(NOT_EMPTY) @IsString(STRING) url: string;
  @IsOptional() @IsStringMap() headers?: Record<string, string>;
  @Allow() body?: unknown;
  @IsOptional()
  @Max(60_000, { message: 'must be at most 60000' })
  @Min(1, { message: 'must be at least 1' })
  @IsInt({ message: 'must be a whole number of milliseconds' })
  timeoutMs?: number;
}

export class PortActionDto {
  @IsOptional() @IsNotEmpty(NOT_EMPTY) @IsString(STRING) blueprint?: string;
  @IsOptional() @IsNotEmpty(NOT_EMPTY) @IsString(STRING) entity?: string;
  @IsOptional() @IsObject({ message: 'must be a map of property values' }) properties?: Record<string, unknown>;
  @IsOptional() @IsObject({ message: 'must be a map of relation targets' }) relations?: Record<string, unknown>;
  @IsOptional() @IsString(STRING) title?: string;
  @IsOptional() @IsStringOrStringList(true) team?: string | string[];
  @IsOptional() @IsString(STRING) icon?: string;
}
