import { getMetadataStorage } from 'class-validator';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ACTION_KINDS,
  ChangedConditionDto,
  CrossesConditionDto,
  HTTP_METHODS,
  HttpActionDto,
  JqConditionDto,
  PORT_PATCH_FIELDS,
  PortActionDto,
  RULE_EVENTS,
  RULE_ID_PATTERN,
  RuleDto,
  SlackActionDto,
} from './dto/rule.dto';

const ROOT = join(__dirname, '..', '..');
const schema = JSON.parse(readFileSync(join(ROOT, 'rules.schema.json'), 'utf8'));
const definitions = schema.definitions;

function dtoFields(dto: new () => object): string[] {
  const metadata = getMetadataStorage().getTargetValidationMetadatas(dto, '', true, false);
  return [...new Set(metadata.map((item) => item.propertyName))].sort();
}

const schemaFields = (definition: { properties: object }) => Object.keys(definition.properties).sort();

describe('rules.schema.json', () => {
  it('should be a draft-07 schema referenced by the example rules.yaml', () => {
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(readFileSync(join(ROOT, 'rules.yaml'), 'utf8').split('\n')[0]).toBe('# yaml-language-server: $schema=./rules.schema.json');
  });

  it.each([
    ['rule', () => definitions.rule, RuleDto],
    ['changed', () => definitions.condition.oneOf[0], ChangedConditionDto],
    ['crosses', () => definitions.condition.oneOf[1], CrossesConditionDto],
    ['jq', () => definitions.condition.oneOf[2], JqConditionDto],
    ['slack', () => definitions.slack, SlackActionDto],
    ['http', () => definitions.http, HttpActionDto],
    ['port', () => definitions.port, PortActionDto],
  ])('should describe the same %s fields the loader accepts', (_name, definition, dto) => {
    expect(schemaFields(definition())).toEqual(dtoFields(dto));
    expect(definition().additionalProperties).toBe(false);
  });

  it('should list the same events, methods, id pattern, action kinds and patch fields', () => {
    expect(definitions.rule.properties.events.items.enum).toEqual([...RULE_EVENTS]);
    expect(definitions.http.properties.method.enum).toEqual([...HTTP_METHODS]);
    expect(definitions.rule.properties.id.pattern).toBe(RULE_ID_PATTERN.source);
    expect(definitions.action.oneOf.map((item: { required: string[] }) => item.required[0])).toEqual([...ACTION_KINDS]);
    expect(definitions.port.anyOf.map((item: { required: string[] }) => item.required[0])).toEqual([...PORT_PATCH_FIELDS]);
  });
});
