import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { isPlainObject } from '../changes/json-equal';
import {
  ACTION_KINDS,
  ChangedConditionDto,
  CONDITION_KINDS,
  CrossesConditionDto,
  HttpActionDto,
  JqConditionDto,
  PORT_PATCH_FIELDS,
  PortActionDto,
  RuleDto,
  SlackActionDto,
  toNumber,
} from './dto/rule.dto';
import { FieldError, fieldErrorsOf, joinField } from './rule-errors';
import type { ActionSpec, Rule, RuleCondition } from './rule.types';

export interface RuleValidationOptions {
  /** Whether SLACK_WEBHOOK_URL is set, so a `slack` action may omit `webhookUrl`. */
  slackDefaultConfigured: boolean;
}

type Plain = Record<string, unknown>;
type DtoClass = new () => object;

// Unknown keys are errors (a typo such as `bluprint` must not silently widen a rule); one message per field.
const VALIDATION = { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: false, stopAtFirstError: true };
const CONDITION_DTOS: Record<string, DtoClass> = { changed: ChangedConditionDto, crosses: CrossesConditionDto, jq: JqConditionDto };
const ACTION_DTOS: Record<string, DtoClass> = { slack: SlackActionDto, http: HttpActionDto, port: PortActionDto };

/** Checks one rule's shape (fields relative to the rule) and builds it when valid. */
export function validateRule(raw: unknown, options: RuleValidationOptions): { rule?: Rule; errors: FieldError[] } {
  if (!isPlainObject(raw)) return { errors: [{ field: '', message: 'must be a mapping with at least `id` and `do`' }] };
  const errors = validateDto(RuleDto, raw, '');
  const when = Array.isArray(raw.when) ? raw.when.map((item, i) => toCondition(item, joinField('when', i), errors)) : [];
  const actions = Array.isArray(raw.do) ? raw.do.map((item, i) => toAction(item, joinField('do', i), options, errors)) : [];
  if (errors.length > 0) return { errors };
  const rule: Rule = {
    id: raw.id as string,
    blueprints: listOf(raw.blueprint) as string[],
    events: listOf(raw.events) as string[],
    when: when as RuleCondition[],
    do: actions as ActionSpec[],
  };
  if (typeof raw.description === 'string') rule.description = raw.description;
  return { rule, errors };
}

/** The one key among `kinds` that identifies a `when` or `do` item, or an error. */
function kindOf(item: unknown, kinds: readonly string[], field: string, errors: FieldError[]): string | undefined {
  const found = isPlainObject(item) ? Object.keys(item).filter((key) => kinds.includes(key)) : [];
  if (found.length === 1) return found[0];
  const names = kinds.join(', ');
  const message = found.length > 1 ? `must have only one of ${names} (found ${found.join(' and ')})` : `must have one of ${names}`;
  errors.push({ field, message });
  return undefined;
}

function toCondition(item: unknown, field: string, errors: FieldError[]): RuleCondition | undefined {
  const kind = kindOf(item, CONDITION_KINDS, field, errors);
  if (!kind) return undefined;
  const condition = item as Plain;
  const problems = validateDto(CONDITION_DTOS[kind], condition, field);
  if (kind === 'crosses' && (condition.above === undefined) === (condition.below === undefined)) {
    problems.push({ field, message: 'must have exactly one of `above` or `below`' });
  }
  // `above:` with nothing after it is null: a threshold left out, not "no threshold".
  for (const key of kind === 'crosses' ? ['above', 'below'] : []) {
    if (condition[key] === null) problems.push({ field: joinField(field, key), message: 'must be a number (it is empty)' });
  }
  // `from: []` could never hold: a list means any one of its values.
  for (const key of kind === 'changed' ? ['from', 'to'] : []) {
    if (Array.isArray(condition[key]) && (condition[key] as unknown[]).length === 0) {
      problems.push({ field: joinField(field, key), message: 'must list at least one value (a list means any one of them; leave it out for any value)' });
    }
  }
  errors.push(...problems);
  if (problems.length > 0) return undefined;
  if (kind === 'jq') return { kind: 'jq', expression: condition.jq as string };
  if (kind === 'crosses') {
    const threshold = condition.above !== undefined ? { above: toNumber(condition.above) } : { below: toNumber(condition.below) };
    return { kind: 'crosses', path: condition.crosses as string, ...threshold };
  }
  const changed: RuleCondition = { kind: 'changed', path: condition.changed as string };
  if ('from' in condition) changed.from = listOf(condition.from, true);
  if ('to' in condition) changed.to = listOf(condition.to, true);
  return changed;
}

function toAction(item: unknown, field: string, options: RuleValidationOptions, errors: FieldError[]): ActionSpec | undefined {
  const kind = kindOf(item, ACTION_KINDS, field, errors);
  if (!kind) return undefined;
  const actionField = joinField(field, kind);
  const extra = Object.keys(item as Plain).filter((key) => key !== kind);
  extra.forEach((key) => errors.push({ field: joinField(field, key), message: 'is not a known field' }));
  // `- slack:` with nothing after it is the default message to the default webhook.
  const spec = kind === 'slack' && (item as Plain).slack === null ? {} : (item as Plain)[kind];
  if (!isPlainObject(spec)) {
    errors.push({ field: actionField, message: 'must be a mapping' });
    return undefined;
  }
  const problems = [...validateDto(ACTION_DTOS[kind], spec, actionField), ...actionRules(kind, spec, actionField, options)];
  errors.push(...problems);
  if (problems.length > 0 || extra.length > 0) return undefined;
  return buildAction(kind, spec);
}

function actionRules(kind: string, spec: Plain, field: string, options: RuleValidationOptions): FieldError[] {
  if (kind === 'slack' && spec.webhookUrl === undefined && !options.slackDefaultConfigured) {
    return [{ field: joinField(field, 'webhookUrl'), message: 'is required when SLACK_WEBHOOK_URL is not set' }];
  }
  const urlKey = kind === 'http' ? 'url' : kind === 'slack' ? 'webhookUrl' : undefined;
  const urlProblem = urlKey && typeof spec[urlKey] === 'string' ? urlError(spec[urlKey]) : undefined;
  if (urlKey && urlProblem) return [{ field: joinField(field, urlKey), message: urlProblem }];
  if (kind === 'port' && PORT_PATCH_FIELDS.every((name) => spec[name] === undefined || spec[name] === null)) {
    return [{ field, message: `must set at least one of ${PORT_PATCH_FIELDS.join(', ')}` }];
  }
  return [];
}

/**
 * What the file fixes of a URL is checked now rather than at each send, where it would fail every
 * event: a URL written out must be http(s), and one that starts as written (before its first
 * `{{ }}` or `${NAME}`) must start with http:// or https://. One a template or variable begins
 * (`${SCALER_URL}/scale`, `{{ .entity.properties.url }}`) is checked when it is sent. The message
 * never quotes the URL (it may hold a secret).
 */
function urlError(url: string): string | undefined {
  const dynamicAt = url.search(/\{\{|\$\{/);
  if (dynamicAt === -1) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return 'must be a URL: http:// or https://, a host, then the path';
    }
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? undefined : 'must be an http:// or https:// URL';
  }
  const written = url.slice(0, dynamicAt).trimStart().toLowerCase();
  if (/^https?:\/\//.test(written) || 'https://'.startsWith(written) || 'http://'.startsWith(written)) return undefined;
  return 'must start with http:// or https://, or with the {{ }} or ${NAME} that gives the whole URL';
}

function buildAction(kind: string, spec: Plain): ActionSpec {
  const defined = Object.fromEntries(Object.entries(spec).filter(([, value]) => value !== undefined && value !== null));
  if (kind === 'http') return { type: 'http', ...defined, method: (spec.method as string | undefined) ?? 'POST' } as ActionSpec;
  return { type: kind, ...defined } as ActionSpec;
}

function validateDto(dto: DtoClass, plain: Plain, field: string): FieldError[] {
  return fieldErrorsOf(validateSync(plainToInstance(dto, plain), VALIDATION), field);
}

function listOf(value: unknown, keepNull = false): unknown[] {
  if (value === undefined || (value === null && !keepNull)) return [];
  return Array.isArray(value) ? value : [value];
}
