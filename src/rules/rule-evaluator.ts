import type { Change, ChangeEvent } from '../changes/change-event';
import { renderAction, RenderInput } from './action-renderer';
import { whyNot } from './condition-checks';
import { DEFAULT_RULE_EVENTS } from './dto/rule.dto';
import { EventContextJson } from './event-context';
import type { JqOutcome } from './jq-batch';
import { isJqTruthy } from './jq-expression';
import { CompiledRule, CompiledRuleSet, compiledRuleSetOf } from './rule-compiler';
import type { RenderedAction, RuleSet } from './rule.types';

export interface EvaluationOptions {
  /** Port web app origin, for the link in the default Slack message. */
  portAppUrl: string;
}

export interface RuleMatch {
  ruleId: string;
  description?: string;
  /** Rendered actions; `${NAME}` placeholders are still in, resolved only by the dispatchers. */
  actions: RenderedAction[];
}

export interface RuleEvaluation {
  matches: RuleMatch[];
  /** Rules that could not be evaluated (a jq or template error); the others still were. */
  failures: { ruleId: string; error: string }[];
  /** Rules that did not match, with the first reason, for `rules test` and debugging. */
  skipped: { ruleId: string; reason: string }[];
}

/**
 * Evaluates every rule against one entity event, cheapest checks first: blueprint, event
 * type, `changed` / `crosses`, then the jq conditions of all remaining rules in one jq call,
 * then renders the matched rules' actions (again one jq call). Pure: sends nothing.
 */
export function evaluateRules(ruleSet: RuleSet, event: ChangeEvent, changes: Change[], options: EvaluationOptions): RuleEvaluation {
  const compiled = compiledRuleSetOf(ruleSet);
  const result: RuleEvaluation = { matches: [], failures: [], skipped: [] };
  if (event.resourceType !== 'entity') {
    result.skipped = compiled.rules.map(({ rule }) => ({ ruleId: rule.id, reason: `rules apply to entities, not to ${event.resourceType}` }));
    return result;
  }
  const candidates = compiled.rules.filter((rule) => {
    const reason = whyNotBeforeJq(rule, event);
    if (reason) result.skipped.push({ ruleId: rule.rule.id, reason });
    return !reason;
  });
  const context = new EventContextJson(event, changes);
  const matched = passJqConditions(compiled, candidates, context, result);
  renderMatches(compiled, matched, context, { event, changes, portAppUrl: options.portAppUrl }, result);
  return result;
}

function whyNotBeforeJq({ rule, conditions }: CompiledRule, event: ChangeEvent): string | undefined {
  if (rule.blueprints.length > 0 && !rule.blueprints.includes(event.blueprint ?? '')) {
    return `blueprint ${event.blueprint ?? '(none)'} is not ${rule.blueprints.join(' or ')}`;
  }
  const events: readonly string[] = rule.events.length > 0 ? rule.events : DEFAULT_RULE_EVENTS;
  if (!events.includes(event.action)) return `event ${event.action} is not ${events.join(' or ')}`;
  const diff = event.body.diff;
  for (const condition of conditions) {
    const reason = whyNot(condition, diff?.before, diff?.after);
    if (reason) return `${condition.field}: ${reason}`;
  }
  return undefined;
}

function passJqConditions(compiled: CompiledRuleSet, candidates: CompiledRule[], context: EventContextJson, result: RuleEvaluation): CompiledRule[] {
  const withJq = candidates.filter((rule) => rule.conditionGroup !== undefined);
  const outcomes = compiled.conditions.run(context, withJq.map((rule) => rule.conditionGroup!));
  const outcomesOf = new Map(withJq.map((rule, i) => [rule, outcomes[i]]));
  return candidates.filter((rule) => {
    const reason = jqVerdict(rule, outcomesOf.get(rule) ?? []);
    if (reason?.failed) result.failures.push({ ruleId: rule.rule.id, error: reason.text });
    else if (reason) result.skipped.push({ ruleId: rule.rule.id, reason: reason.text });
    return !reason;
  });
}

// Conditions hold in order: the first false one skips the rule, an error before it fails it.
function jqVerdict(rule: CompiledRule, outcomes: JqOutcome[]): { failed: boolean; text: string } | undefined {
  for (const [i, outcome] of outcomes.entries()) {
    const field = rule.jqFields[i];
    if (!outcome.ok) return { failed: true, text: `${field}: ${outcome.error}` };
    if (!isJqTruthy(outcome.value)) return { failed: false, text: `${field} gave ${JSON.stringify(outcome.value ?? null)}` };
  }
  return undefined;
}

function renderMatches(
  compiled: CompiledRuleSet,
  matched: CompiledRule[],
  context: EventContextJson,
  input: RenderInput,
  result: RuleEvaluation,
): void {
  const templated = matched.filter((rule) => rule.templateGroup !== undefined);
  const outcomes = compiled.templates.run(context, templated.map((rule) => rule.templateGroup!));
  const outcomesOf = new Map(templated.map((rule, i) => [rule, outcomes[i]]));
  for (const rule of matched) {
    const { id, description } = rule.rule;
    try {
      const actions = rule.actions.map((action) => renderAction(action, outcomesOf.get(rule) ?? [], input));
      result.matches.push(description === undefined ? { ruleId: id, actions } : { ruleId: id, description, actions });
    } catch (error) {
      const field = (error as { field?: string }).field;
      result.failures.push({ ruleId: id, error: field ? `${field}: ${(error as Error).message}` : (error as Error).message });
    }
  }
}
