import { readFileSync } from 'node:fs';
import { headerValues } from '../actions/http/http.dispatcher';
import { guardOwnWriteLoops } from '../actions/port/own-write';
import { portAppUrlFrom } from '../actions/slack/slack-message.builder';
import type { Change, ChangeEvent, EventSource } from '../changes/change-event';
import { parsePortBody } from '../changes/change-event.parser';
import { changesFor } from '../changes/entity-diff';
import { isPlainObject } from '../changes/json-equal';
import { parseJsonText } from '../common/json-text';
import type { AppConfig } from '../config/app-config';
import { printable } from '../rules/rule-errors';
import { evaluateRules, RuleEvaluation } from '../rules/rule-evaluator';
import type { RenderedAction, RuleSet } from '../rules/rule.types';
import { CliOutput, loadRulesForCli, printRuleErrors } from './rules-check.command';

/**
 * `rules test`: evaluates the rules against an event file exactly as the service would (its body
 * parser and size limit, its Port URL, its loop guard) and prints the outcome. Sends nothing;
 * `${NAME}` placeholders are printed unresolved. What the event carries is printed with its control
 * characters escaped, so an event cannot write escape sequences to the terminal.
 */
export function runTest(file: string, eventFile: string, config: AppConfig, output: CliOutput): number {
  const rules = loadRulesForCli(file, config);
  if (!rules.ok) {
    printRuleErrors(file, rules, output);
    return 1;
  }
  const event = readEvent(eventFile, config.http.bodyLimitBytes, output);
  if (!event) return 1;
  const changes = changesFor(event);
  const evaluation = evaluateRules(rules.ruleSet, event, changes, { portAppUrl: portAppUrlFrom(config.port.apiUrl) });
  const guarded = guardOwnWriteLoops(event, evaluation.matches, config.port.clientId);
  const outcome = { ...evaluation, matches: guarded.matches, held: guarded.held };
  const report = [describeEvent(event), ...describeChanges(changes), ...describeRules(rules.ruleSet, outcome), ...describeActions(outcome)];
  output.out(report.join('\n'));
  output.out('Nothing was sent (dry run).');
  return 0;
}

function readEvent(eventFile: string, limitBytes: number, output: CliOutput): ChangeEvent | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(eventFile);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    output.err(`✗ cannot read event file ${eventFile}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (code ?? (error as Error).message)}`);
    return undefined;
  }
  if (bytes.length > limitBytes) {
    output.err(`✗ event file ${eventFile} is ${bytes.length} bytes: the webhook route takes at most ${limitBytes} (it answers 413)`);
    return undefined;
  }
  const json = parseJsonText(bytes.toString('utf8'));
  if (!json.ok) {
    output.err(`✗ ${eventFile} is not JSON the service accepts: ${printable(json.error)}`);
    return undefined;
  }
  const parsed = parsePortBody(json.value, { source: sourceOf(json.value), receivedAt: new Date().toISOString() });
  if (parsed.ok) return parsed.event;
  const lines = parsed.errors.map((error) => printable(`${error.field}: ${error.message}`));
  output.err(`✗ ${eventFile} is not a Port event the service accepts:\n${lines.join('\n')}`);
  return undefined;
}

/** A Kafka `change.log` message is the changelog body plus `changelogDestination`: `.event.source` is then `kafka`, as the service sets it. */
function sourceOf(body: unknown): EventSource {
  return isPlainObject(body) && 'changelogDestination' in body ? 'kafka' : 'webhook';
}

function describeEvent(event: ChangeEvent): string {
  const subject = event.resourceType === 'entity' ? `entity ${event.entity ?? '?'} of blueprint ${event.blueprint ?? '?'}` : event.resourceType;
  return printable(`Event ${event.action} ${subject} (id ${event.id}, source ${event.source})`);
}

function describeChanges(changes: Change[]): string[] {
  const lines = changes.map((change) => printable(`  ${change.path}: ${JSON.stringify(change.before)} → ${JSON.stringify(change.after)}`));
  return [`Changes (${changes.length}):`, ...(lines.length > 0 ? lines : ['  none'])];
}

function describeRules(ruleSet: RuleSet, evaluation: RuleEvaluation & { held: string[] }): string[] {
  const width = Math.max(0, ...ruleSet.rules.map((rule) => rule.id.length));
  const lines = ruleSet.rules.map(({ id }) => {
    const name = id.padEnd(width);
    const match = evaluation.matches.find((item) => item.ruleId === id);
    if (match) return `  ✓ ${name}  matched: ${match.actions.length} ${match.actions.length === 1 ? 'action' : 'actions'}`;
    if (evaluation.held.includes(id)) return `  – ${name}  matched, not run: the change was made with PORT_CLIENT_ID, and the rule patches Port (loop guard)`;
    const failure = evaluation.failures.find((item) => item.ruleId === id);
    if (failure) return printable(`  ! ${name}  failed: ${failure.error}`);
    const skip = evaluation.skipped.find((item) => item.ruleId === id);
    return printable(`  ✗ ${name}  not matched: ${skip?.reason ?? 'no reason given'}`);
  });
  return [`Rules (${evaluation.matches.length} of ${ruleSet.rules.length} matched):`, ...lines];
}

function describeActions(evaluation: RuleEvaluation): string[] {
  return evaluation.matches.flatMap((match) =>
    match.actions.flatMap((action, i) => [`Action do[${i}] of ${match.ruleId} (${action.type}):`, JSON.stringify(action, null, 2), ...sendProblems(action)]),
  );
}

/** What the rendered action fails on when it is sent, whatever the target answers. */
function sendProblems(action: RenderedAction): string[] {
  if (action.type !== 'http') return [];
  try {
    headerValues(action.headers);
    return [];
  } catch (error) {
    return [printable(`  ! fails when sent, not retried: ${(error as Error).message}`)];
  }
}
