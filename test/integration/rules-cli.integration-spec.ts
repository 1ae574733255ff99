import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const EVENT = join(ROOT, 'test', 'fixtures', 'port-events', 'deployment-degraded.json');
const DOT_ENV = 'SLACK_WEBHOOK_URL=https://hooks.slack.com/services/T/B/from-dotenv\nSCALER_URL=https://scaler.example.com\nSCALER_TOKEN=dotenv-secret\n';

/**
 * Runs `rules.cli.ts` as its own process, as `npm run rules` runs the built file: real argv,
 * `.env` in the working directory, stdout, stderr and the exit code. Through ts-node so the test
 * needs no prior build.
 */
function rulesCli(args: string[], options: { cwd: string; env?: Record<string, string> }) {
  const result = spawnSync(process.execPath, ['-r', require.resolve('ts-node/register/transpile-only'), join(ROOT, 'src', 'cli', 'rules.cli.ts'), ...args], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '', TS_NODE_PROJECT: join(ROOT, 'tsconfig.json'), ...options.env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function workspace(withDotEnv: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), 'rules-cli-it-'));
  copyFileSync(join(ROOT, 'rules.yaml'), join(dir, 'rules.yaml'));
  if (withDotEnv) writeFileSync(join(dir, '.env'), DOT_ENV);
  return dir;
}

describe('npm run rules (CLI process)', () => {
  jest.setTimeout(60_000);

  it('should validate ./rules.yaml with variables from .env and exit 0', () => {
    expect(rulesCli(['check'], { cwd: workspace(true) })).toEqual({ status: 0, stdout: '✓ 3 rules valid in ./rules.yaml\n', stderr: '' });
  });

  it('should exit 1 naming each rule and field when variables are missing', () => {
    const result = rulesCli(['check', 'rules.yaml'], { cwd: workspace(false) });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toEqual([
      '✗ rules.yaml is invalid (4 errors):',
      'rule "deployment-health-changed": do[0].slack.webhookUrl: ${SLACK_WEBHOOK_URL} is not set in the environment',
      'rule "deployment-cpu-scale-up": do[0].http.url: ${SCALER_URL} is not set in the environment',
      'rule "deployment-cpu-scale-up": do[0].http.headers.Authorization: ${SCALER_TOKEN} is not set in the environment',
      'rule "lock-crashed-deployment": do[1].slack.webhookUrl: is required when SLACK_WEBHOOK_URL is not set',
    ]);
  });

  it('should dry-run an event, print rendered actions without secrets and exit 0', () => {
    const result = rulesCli(['test', '--event', EVENT], { cwd: workspace(false), env: { RULES_FILE: 'rules.yaml', ...parseDotEnv(DOT_ENV) } });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Rules (2 of 3 matched):');
    expect(result.stdout).toContain('"text": ":warning: Notification Service Production is Degraded (was Healthy)"');
    expect(result.stdout).toContain('"Authorization": "Bearer ${SCALER_TOKEN}"');
    expect(result.stdout).not.toContain('dotenv-secret');
    expect(result.stdout).not.toContain('from-dotenv');
  });

  it('should exit 2 on a usage error', () => {
    const result = rulesCli(['test'], { cwd: workspace(true) });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('`test` needs --event PAYLOAD.json');
  });
});

function parseDotEnv(text: string): Record<string, string> {
  return Object.fromEntries(text.trim().split('\n').map((line) => line.split(/=(.*)/s).slice(0, 2) as [string, string]));
}
