import { AppConfig, buildAppConfig } from '../config/app-config';
import { ConfigurationError } from '../config/validate-environment';
import { formatRuleErrors, loadRulesFile, LoadRulesResult } from '../rules/rule-file.loader';

export interface CliOutput {
  out(text: string): void;
  err(text: string): void;
}

export type CliEnv = Record<string, string | undefined>;

/**
 * The service's configuration from this environment, built as the service builds it at start; or,
 * when the service would not start with it, the line it would stop with. So `check` cannot pass a
 * setup the service refuses (a SLACK_WEBHOOK_URL that is not a URL, which rules without a
 * `webhookUrl` rely on), and `test` renders with the same Port URL and loop guard.
 */
export function configForCli(env: CliEnv): AppConfig | string {
  try {
    return buildAppConfig(env);
  } catch (error) {
    if (error instanceof ConfigurationError) return `✗ ${error.message} (the service would stop at start with this line)`;
    throw error;
  }
}

/** Loads a rules file as the service does (same variables, same SLACK_WEBHOOK_URL default). */
export function loadRulesForCli(file: string, config: AppConfig): LoadRulesResult {
  return loadRulesFile(file, { env: config.ruleVariables, slackDefaultConfigured: Boolean(config.slack.defaultWebhookUrl) });
}

export function printRuleErrors(file: string, result: Extract<LoadRulesResult, { ok: false }>, output: CliOutput): void {
  const count = result.errors.length;
  output.err(`✗ ${file} is invalid (${count} ${count === 1 ? 'error' : 'errors'}):\n${formatRuleErrors(result.errors)}`);
}

/** `rules check`: exit 0 when the file is valid, 1 with every error otherwise. */
export function runCheck(file: string, config: AppConfig, output: CliOutput): number {
  const result = loadRulesForCli(file, config);
  if (!result.ok) {
    printRuleErrors(file, result, output);
    return 1;
  }
  const count = result.ruleSet.rules.length;
  output.out(`✓ ${count} ${count === 1 ? 'rule' : 'rules'} valid in ${file}`);
  return 0;
}
