export type RulesCliCommand =
  | { command: 'help' }
  | { command: 'check'; file: string }
  | { command: 'test'; file: string; eventFile: string };

export const RULES_CLI_USAGE = [
  'Usage:',
  '  npm run rules -- check [FILE]                      validate a rules file',
  '  npm run rules -- test [FILE] --event PAYLOAD.json  dry run: which rules match the event and the actions they would send',
  '',
  'FILE defaults to $RULES_FILE, else ./rules.yaml. ${NAME} values come from the environment and .env.',
  'Exit codes: 0 valid (check) or evaluated (test), 1 invalid rules or event file, 2 usage error.',
].join('\n');

/** Parses `check|test [FILE] [--event PATH]`; a string is the usage error to print. */
export function parseRulesCliArgs(argv: string[], defaultFile: string): RulesCliCommand | string {
  if (argv.length === 0) return 'missing command: check or test';
  if (argv.some((arg) => arg === '-h' || arg === '--help')) return { command: 'help' };
  const [command, ...rest] = argv;
  if (command !== 'check' && command !== 'test') return `unknown command: ${command}`;
  const positional: string[] = [];
  let eventFile: string | undefined;
  for (let i = 0; i < rest.length; i += 1) {
    const arg = rest[i];
    if (arg === '--event') {
      // `--event` last, with no path after it, is a usage error for `check` as for `test`.
      if (i + 1 >= rest.length) return '--event needs a path: --event PAYLOAD.json';
      eventFile = rest[++i];
    }
    else if (arg.startsWith('--event=')) eventFile = arg.slice('--event='.length);
    else if (arg.startsWith('-')) return `unknown option: ${arg}`;
    else positional.push(arg);
  }
  if (positional.length > 1) return `expected at most one rules file, got: ${positional.join(' ')}`;
  const file = positional[0] ?? defaultFile;
  if (command === 'check') return eventFile === undefined ? { command, file } : '--event is only for `test`';
  if (!eventFile) return '`test` needs --event PAYLOAD.json';
  return { command, file, eventFile };
}
