import { formatRuleErrors, loadRulesFile, LoadRulesResult } from '../rules/rule-file.loader';

export interface CliOutput {
  out(text: string): void;
  err(text: string): void;
}

export type CliEnv = Record<string, string | undefined>;

/** Loads a rules file as the service does (same variables, same SLACK_WEBHOOK_URL default). */
export function loadRulesForCli(file: string, env: CliEnv): LoadRulesResult {
  return loadRulesFile(file, { env, slackDefaultConfigured: Boolean(env.SLACK_WEBHOOK_URL) });
}

export function printRuleErrors(file: string, result: Extract<LoadRulesResult, { ok: false }>, output: CliOutput): void {
  const count = result.errors.length;
  output.err(`✗ ${file} is invalid (${count} ${count === 1 ? 'error' : 'errors'}):\n${formatRuleErrors(result.errors)}`);
}

/** `rules check`: exit 0 when the file is valid, 1 with every error otherwise. */
export function runCheck(file: string, env: CliEnv, output: CliOutput): number {
  const result = loadRulesForCli(file, env);
  if (!result.ok) {
    printRuleErrors(file, result, output);
    return 1;
  }
  const count = result.ruleSet.rules.length;
  output.out(`✓ ${count} ${count === 1 ? 'rule' : 'rules'} valid in ${file}`);
  return 0;
}
