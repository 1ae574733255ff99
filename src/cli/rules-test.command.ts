import { readFileSync } from 'node:fs';
import { portAppUrlFrom } from '../actions/slack/slack-message.builder';
import type { Change, ChangeEvent } from '../changes/change-event';
import { parsePortBody } from '../changes/change-event.parser';
import { changesFor } from '../changes/entity-diff';
import { evaluateRules, RuleEvaluation } from '../rules/rule-evaluator';
import type { RuleSet } from '../rules/rule.types';
import { CliEnv, CliOutput, loadRulesForCli, printRuleErrors } from './rules-check.command';

const DEFAULT_PORT_APP_URL = 'https://app.port.io';

/**
 * `rules test`: evaluates the rules against an event file exactly as the service would and
 * prints the outcome. Sends nothing; `${NAME}` placeholders are printed unresolved.
 */
export function runTest(file: string, eventFile: string, env: CliEnv, output: CliOutput): number {
  const rules = loadRulesForCli(file, env);
  if (!rules.ok) {
    printRuleErrors(file, rules, output);
    return 1;
  }
  const event = readEvent(eventFile, output);
  if (!event) return 1;
  const changes = changesFor(event);
  const portAppUrl = env.PORT_API_URL ? portAppUrlFrom(env.PORT_API_URL) : DEFAULT_PORT_APP_URL;
  const evaluation = evaluateRules(rules.ruleSet, event, changes, { portAppUrl });
  const report = [describeEvent(event), ...describeChanges(changes), ...describeRules(rules.ruleSet, evaluation), ...describeActions(evaluation)];
  output.out(report.join('\n'));
  output.out('Nothing was sent (dry run).');
  return 0;
}

function readEvent(eventFile: string, output: CliOutput): ChangeEvent | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(eventFile, 'utf8'));
  } catch (error) {
    output.err(`✗ cannot read event file ${eventFile}: ${(error as Error).message}`);
    return undefined;
  }
  const parsed = parsePortBody(raw, { source: 'webhook', receivedAt: new Date().toISOString() });
  if (parsed.ok) return parsed.event;
  const lines = parsed.errors.map((error) => `${error.field}: ${error.message}`);
  output.err(`✗ ${eventFile} is not a Port event the service accepts:\n${lines.join('\n')}`);
  return undefined;
}

function describeEvent(event: ChangeEvent): string {
  const subject = event.resourceType === 'entity' ? `entity ${event.entity ?? '?'} of blueprint ${event.blueprint ?? '?'}` : event.resourceType;
  return `Event ${event.action} ${subject} (id ${event.id})`;
}

function describeChanges(changes: Change[]): string[] {
  const lines = changes.map((change) => `  ${change.path}: ${JSON.stringify(change.before)} → ${JSON.stringify(change.after)}`);
  return [`Changes (${changes.length}):`, ...(lines.length > 0 ? lines : ['  none'])];
}

function describeRules(ruleSet: RuleSet, evaluation: RuleEvaluation): string[] {
  const width = Math.max(0, ...ruleSet.rules.map((rule) => rule.id.length));
  const lines = ruleSet.rules.map(({ id }) => {
    const name = id.padEnd(width);
    const match = evaluation.matches.find((item) => item.ruleId === id);
    if (match) return `  ✓ ${name}  matched: ${match.actions.length} ${match.actions.length === 1 ? 'action' : 'actions'}`;
    const failure = evaluation.failures.find((item) => item.ruleId === id);
    if (failure) return `  ! ${name}  failed: ${failure.error}`;
    const skip = evaluation.skipped.find((item) => item.ruleId === id);
    return `  ✗ ${name}  not matched: ${skip?.reason ?? 'no reason given'}`;
  });
  return [`Rules (${evaluation.matches.length} of ${ruleSet.rules.length} matched):`, ...lines];
}

function describeActions(evaluation: RuleEvaluation): string[] {
  return evaluation.matches.flatMap((match) =>
    match.actions.flatMap((action, i) => [`Action do[${i}] of ${match.ruleId} (${action.type}):`, JSON.stringify(action, null, 2)]),
  );
}
