import { runSteps, Steps } from '../common/steps';
import { JqBatch, JqBatchCompileError } from './jq-batch';
import { JqExpression } from './jq-expression';
import { FieldError, formatRuleErrors, joinField, RuleError } from './rule-errors';
import type { ActionSpec, Rule, RuleSet } from './rule.types';
import { placeholderNames, resolveSecrets } from './secret-placeholders';
import { compileTemplate, TemplateError, TemplateNode, TemplateSlotSink } from './template';

export type JsCondition =
  | { kind: 'changed'; field: string; path: string; segments: string[]; from?: unknown[]; to?: unknown[] }
  | { kind: 'crosses'; field: string; path: string; segments: string[]; above?: number; below?: number };

export interface CompiledAction {
  spec: ActionSpec;
  /** The spec's templated fields (all but type, method and timeoutMs) as one object template. */
  template: TemplateNode;
}

export interface CompiledRule {
  rule: Rule;
  conditions: JsCondition[];
  /** The `when` field of each jq condition, in the order of its conditions group. */
  jqFields: string[];
  conditionGroup?: number;
  templateGroup?: number;
  actions: CompiledAction[];
}

/** A rule set ready to evaluate: every jq expression checked and batched (see JqBatch). */
export interface CompiledRuleSet {
  rules: CompiledRule[];
  conditions: JqBatch;
  templates: JqBatch;
}

const UNTEMPLATED = new Set(['type', 'method', 'timeoutMs']);
const compiledSets = new WeakMap<RuleSet, CompiledRuleSet>();

export type CompileRulesResult = { ok: true; compiled: CompiledRuleSet } | { ok: false; errors: RuleError[] };

/** Compiles validated rules; every jq and template problem is an error naming the rule and field. */
export function compileRules(rules: Rule[]): CompileRulesResult {
  return runSteps(compileRulesSteps(rules));
}

/** `compileRules` in steps, one jq compilation each (see Steps). */
export function* compileRulesSteps(rules: Rule[]): Steps<CompileRulesResult> {
  const errors: RuleError[] = [];
  const parts = rules.map((rule) => compileRule(rule, (error) => errors.push({ ruleId: rule.id, ...error })));
  const conditionParts = parts.filter((part) => part.jq.length > 0);
  const templateParts = parts.filter((part) => part.templates.length > 0);
  conditionParts.forEach((part, group) => (part.compiled.conditionGroup = group));
  templateParts.forEach((part, group) => (part.compiled.templateGroup = group));
  const conditions = yield* buildBatch(conditionParts, (part) => part.jq, errors);
  const templates = yield* buildBatch(templateParts, (part) => part.templates, errors);
  if (errors.length > 0 || !conditions || !templates) return { ok: false, errors };
  return { ok: true, compiled: { rules: parts.map((part) => part.compiled), conditions, templates } };
}

/** Remembers the compiled form of a loaded rule set, so the rule set itself stays plain data. */
export function registerCompiledRuleSet(ruleSet: RuleSet, compiled: CompiledRuleSet): void {
  compiledSets.set(ruleSet, compiled);
}

/** The compiled form of a rule set; compiles one built by hand. Throws when it does not compile. */
export function compiledRuleSetOf(ruleSet: RuleSet): CompiledRuleSet {
  const known = compiledSets.get(ruleSet);
  if (known) return known;
  const result = compileRules(ruleSet.rules);
  if (!result.ok) throw new Error(`rule set does not compile:\n${formatRuleErrors(result.errors)}`);
  registerCompiledRuleSet(ruleSet, result.compiled);
  return result.compiled;
}

interface RulePart {
  compiled: CompiledRule;
  jq: { field: string; expression: JqExpression }[];
  templates: { field: string; expression: JqExpression }[];
}

function compileRule(rule: Rule, report: (error: FieldError) => void): RulePart {
  const templates: RulePart['templates'] = [];
  const sink: TemplateSlotSink = (source, field) => {
    const names = placeholderNames(source);
    if (names.length > 0) {
      report({ field, message: `\${${names[0]}} cannot be used inside {{ }}: write it outside the braces so it is resolved only when sending` });
      return undefined;
    }
    // `$${NAME}` inside braces is the literal `${NAME}` in jq, as everywhere else.
    return templates.push({ field, expression: JqExpression.unchecked(resolveSecrets(source, {})) }) - 1;
  };
  const actions = rule.do.map((spec, i) => compileAction(spec, joinField(joinField('do', i), spec.type), sink, report));
  const jq = rule.when.flatMap((condition, i) =>
    condition.kind === 'jq' ? [{ field: joinField(joinField('when', i), 'jq'), expression: JqExpression.unchecked(condition.expression) }] : [],
  );
  return { compiled: { rule, conditions: jsConditions(rule), jqFields: jq.map((item) => item.field), actions }, jq, templates };
}

function compileAction(spec: ActionSpec, field: string, sink: TemplateSlotSink, report: (error: FieldError) => void): CompiledAction {
  const templated = Object.fromEntries(Object.entries(spec).filter(([key]) => !UNTEMPLATED.has(key)));
  try {
    return { spec, template: compileTemplate(templated, field, sink) };
  } catch (error) {
    if (!(error instanceof TemplateError)) throw error;
    report({ field: error.field, message: error.message });
    return { spec, template: { kind: 'value', value: templated } };
  }
}

function jsConditions(rule: Rule): JsCondition[] {
  return rule.when.flatMap((condition, i): JsCondition[] => {
    if (condition.kind === 'jq') return [];
    const segments = condition.path.replace(/^\./, '').split('.');
    const field = joinField(joinField('when', i), condition.kind);
    return [{ ...condition, field, segments }];
  });
}

function* buildBatch(
  parts: RulePart[],
  expressionsOf: (part: RulePart) => { field: string; expression: JqExpression }[],
  errors: RuleError[],
): Steps<JqBatch | undefined> {
  const groups = parts.map((part) => {
    const { id, description } = part.compiled.rule;
    return { overlay: { rule: { id, description } }, expressions: expressionsOf(part).map((item) => item.expression) };
  });
  try {
    return yield* JqBatch.buildSteps(groups);
  } catch (error) {
    if (!(error instanceof JqBatchCompileError)) throw error;
    for (const failure of error.failures) {
      const part = parts[failure.group];
      errors.push({ ruleId: part.compiled.rule.id, field: expressionsOf(part)[failure.expression].field, message: failure.message });
    }
    return undefined;
  }
}
