import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRulesCliArgs } from './rules-cli.args';
import { runRulesCli } from './rules.cli';

const ROOT = join(__dirname, '..', '..');
const EXAMPLE = join(ROOT, 'rules.yaml');
const EVENT = join(ROOT, 'test', 'fixtures', 'port-events', 'deployment-degraded.json');
const ENV = { SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T/B/secret-path', SCALER_URL: 'https://scaler.example.com', SCALER_TOKEN: 'super-secret-token' };

function run(argv: string[], env: Record<string, string | undefined> = ENV) {
  const out: string[] = [];
  const err: string[] = [];
  const code = runRulesCli(argv, env, { out: (text) => out.push(text), err: (text) => err.push(text) });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

function tempFile(name: string, content: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'rules-cli-')), name);
  writeFileSync(path, content);
  return path;
}

describe('rules CLI', () => {
  describe('runRulesCli check', () => {
    it('should report a valid file and exit 0', () => {
      expect(run(['check', EXAMPLE])).toEqual({ code: 0, stdout: `✓ 3 rules valid in ${EXAMPLE}`, stderr: '' });
    });

    it('should default to RULES_FILE', () => {
      expect(run(['check'], { ...ENV, RULES_FILE: EXAMPLE }).stdout).toBe(`✓ 3 rules valid in ${EXAMPLE}`);
    });

    it('should print every error, one line each naming rule and field, and exit 1', () => {
      const file = tempFile('bad.yaml', 'rules:\n  - id: a\n    do: [{ http: { url: 1 } }]\n  - id: b\n    when: [{ crosses: x }]\n    do: [{ slack: {} }]\n');
      expect(run(['check', file], {})).toEqual({
        code: 1,
        stdout: '',
        stderr: [
          `✗ ${file} is invalid (3 errors):`,
          'rule "a": do[0].http.url: must be a string',
          'rule "b": when[0]: must have exactly one of `above` or `below`',
          'rule "b": do[0].slack.webhookUrl: is required when SLACK_WEBHOOK_URL is not set',
        ].join('\n'),
      });
    });

    it('should refuse a missing file with exit 1', () => {
      expect(run(['check', '/nonexistent/rules.yaml'])).toMatchObject({ code: 1, stderr: expect.stringContaining('cannot read /nonexistent/rules.yaml: no such file') });
    });
  });

  describe('runRulesCli test', () => {
    it('should print the changes, each rule with why it matched or not, and the rendered actions', () => {
      const { code, stdout } = run(['test', EXAMPLE, '--event', EVENT]);
      expect(code).toBe(0);
      expect(stdout).toContain('Event UPDATE entity notification-service-prod of blueprint deploymentConfig');
      expect(stdout).toContain('  properties.healthStatus: "Healthy" → "Degraded"');
      expect(stdout).toContain('  ✓ deployment-health-changed  matched: 1 action');
      expect(stdout).toContain('  ✗ lock-crashed-deployment    not matched: when[0].changed: properties.healthStatus changed to "Degraded", not to "Crashed"');
      expect(stdout).toContain('"url": "${SCALER_URL}/services/notification-service-prod/scale"');
      expect(stdout).toContain('Nothing was sent (dry run).');
    });

    it('should never print the secret values', () => {
      const { stdout } = run(['test', EXAMPLE, `--event=${EVENT}`]);
      expect(stdout).toContain('"Authorization": "Bearer ${SCALER_TOKEN}"');
      for (const secret of Object.values(ENV)) expect(stdout).not.toContain(secret);
    });

    const degraded = readFileSync(EVENT, 'utf8');
    it.each([
      ['not JSON', '{ nope', 'is not JSON the service accepts'],
      ['not a Port event', '{"hello": "world"}', 'is not a Port event the service accepts'],
      ['a body the webhook route refuses for a __proto__ key', degraded.replace('{', '{"__proto__": {"x": 1},'), 'is not JSON the service accepts: Body holds a "__proto__"'],
      ['over the webhook route\'s 1 MiB', degraded.replace('{', `{"padding": "${'x'.repeat(1024 * 1024)}",`), 'the webhook route takes at most 1048576 (it answers 413)'],
      ['binary, not echoed raw', '\u001b[2J\u0007{', 'is not JSON the service accepts'],
    ])('should refuse an event file that is %s with exit 1', (_name, content, message) => {
      const result = run(['test', EXAMPLE, '--event', tempFile('event.json', content)]);
      expect(result).toMatchObject({ code: 1, stderr: expect.stringContaining(message) });
      expect(result.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f]/);
    });

    it('should read an event file that starts with a byte order mark, as the webhook route does', () => {
      expect(run(['test', EXAMPLE, '--event', tempFile('event.json', `\ufeff${degraded}`)])).toMatchObject({ code: 0, stdout: expect.stringContaining('✓ deployment-health-changed') });
    });

    it('should print what the event carries with its control characters escaped', () => {
      const body = JSON.parse(degraded) as { context: { entity: string } };
      body.context.entity = 'svc\u001b]0;owned\u0007\r';
      const { code, stdout } = run(['test', EXAMPLE, '--event', tempFile('event.json', JSON.stringify(body))]);
      expect(code).toBe(0);
      expect(stdout).toContain('Event UPDATE entity svc\\u001b]0;owned\\u0007\\u000d of blueprint deploymentConfig');
      expect(stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f]/);
    });

    it('should hold back a rule that patches Port on a change made with PORT_CLIENT_ID, as the service does (loop guard)', () => {
      const body = JSON.parse(degraded) as { diff: { after: { properties: Record<string, unknown> } }; trigger: { by: { userId: string } } };
      body.diff.after.properties.healthStatus = 'Crashed';
      body.trigger.by.userId = 'reactor-client@clients';
      const file = tempFile('event.json', JSON.stringify(body));
      const held = run(['test', EXAMPLE, '--event', file], { ...ENV, PORT_CLIENT_ID: 'reactor-client' });
      expect(held.stdout).toContain('  – lock-crashed-deployment    matched, not run: the change was made with PORT_CLIENT_ID, and the rule patches Port (loop guard)');
      expect(held.stdout).not.toContain('Action do[0] of lock-crashed-deployment');
      const other = run(['test', EXAMPLE, '--event', file], { ...ENV, PORT_CLIENT_ID: 'someone-else' });
      expect(other.stdout).toContain('  ✓ lock-crashed-deployment    matched: 2 actions');
    });

    it('should say an http action fails when sent when a header renders text a header cannot carry', () => {
      const body = JSON.parse(degraded) as { diff: { after: { title: string } } };
      body.diff.after.title = '東京 API';
      const rulesFile = tempFile('rules.yaml', 'rules:\n  - id: titled\n    do:\n      - http:\n          url: https://scaler.example.com/x\n          headers: { X-Title: "{{ .entity.title }}" }\n');

      const { stdout, code } = run(['test', rulesFile, '--event', tempFile('event.json', JSON.stringify(body))]);

      expect(code).toBe(0);
      expect(stdout).toContain('  ! fails when sent, not retried: header X-Title rendered text an HTTP header cannot carry');
    });

    it('should give .event.source as kafka for a Kafka change.log message, as the service does', () => {
      const body = { ...(JSON.parse(degraded) as object), changelogDestination: { type: 'KAFKA' } };
      expect(run(['test', EXAMPLE, '--event', tempFile('event.json', JSON.stringify(body))]).stdout).toContain(', source kafka)');
    });

    it.each([
      ['SLACK_WEBHOOK_URL', { SLACK_WEBHOOK_URL: 'ftp://x/y' }],
      ['PORT_API_URL', { PORT_API_URL: 'api.port.io/v1' }],
    ])('should stop with the service\'s own line when the environment has a bad %s', (name, env) => {
      for (const argv of [['check', EXAMPLE], ['test', EXAMPLE, '--event', EVENT]]) {
        expect(run(argv, { ...ENV, ...env })).toEqual({ code: 1, stdout: '', stderr: expect.stringMatching(new RegExp(`^✗ Invalid configuration: ${name}.*\\(the service would stop at start with this line\\)$`)) });
      }
    });

    it('should refuse invalid rules with exit 1 before reading the event', () => {
      expect(run(['test', EXAMPLE, '--event', EVENT], {})).toMatchObject({ code: 1, stderr: expect.stringContaining('is not set in the environment') });
    });
  });

  describe('usage', () => {
    it.each([[[]], [['lint']], [['test', EXAMPLE]], [['check', 'a.yaml', 'b.yaml']], [['check', '--event', EVENT]], [['check', '--verbose']]])(
      'should exit 2 with the usage for %j',
      (argv) => {
        expect(run(argv)).toMatchObject({ code: 2, stdout: '', stderr: expect.stringContaining('Usage:') });
      },
    );

    it('should print the usage for --help and exit 0', () => {
      expect(run(['check', '--help'])).toMatchObject({ code: 0, stdout: expect.stringContaining('npm run rules -- test [FILE] --event PAYLOAD.json') });
    });
  });

  describe('parseRulesCliArgs', () => {
    it.each([
      [['check'], { command: 'check', file: 'default.yaml' }],
      [['check', 'x.yaml'], { command: 'check', file: 'x.yaml' }],
      [['test', '--event', 'e.json'], { command: 'test', file: 'default.yaml', eventFile: 'e.json' }],
      [['test', '--event=e.json', 'x.yaml'], { command: 'test', file: 'x.yaml', eventFile: 'e.json' }],
      [['test', '--event'], '--event needs a path: --event PAYLOAD.json'],
      [['check', '--event'], '--event needs a path: --event PAYLOAD.json'],
      [['test', '--event='], '`test` needs --event PAYLOAD.json'],
    ])('should parse %j', (argv, expected) => {
      expect(parseRulesCliArgs(argv, 'default.yaml')).toEqual(expected);
    });
  });
});
