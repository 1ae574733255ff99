import { CliEnv, CliOutput, configForCli, runCheck } from './rules-check.command';
import { parseRulesCliArgs, RULES_CLI_USAGE } from './rules-cli.args';
import { runTest } from './rules-test.command';

/** `npm run rules -- check|test …`; returns the exit code. */
export function runRulesCli(argv: string[], env: CliEnv, output: CliOutput): number {
  const parsed = parseRulesCliArgs(argv, env.RULES_FILE || './rules.yaml');
  if (typeof parsed === 'string') {
    output.err(`${parsed}\n\n${RULES_CLI_USAGE}`);
    return 2;
  }
  if (parsed.command === 'help') {
    output.out(RULES_CLI_USAGE);
    return 0;
  }
  const config = configForCli(env);
  if (typeof config === 'string') {
    output.err(config);
    return 1;
  }
  if (parsed.command === 'check') return runCheck(parsed.file, config, output);
  return runTest(parsed.file, parsed.eventFile, config, output);
}

// The CLI is its own entry point (no Nest boot, no AppConfig), so it reads the process
// environment and `.env` here, as the service does at start; real variables win over `.env`.
if (require.main === module) {
  try {
    process.loadEnvFile();
  } catch {
    // No .env: the environment alone is used.
  }
  // `npm run rules -- test … | head` closes the pipe early; that is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
  const output: CliOutput = {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
  };
  process.exitCode = runRulesCli(process.argv.slice(2), process.env, output);
}
