import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compiledRuleSetOf } from './rule-compiler';
import { formatRuleErrors, loadRulesFile, loadRulesFromText, loadRulesFromTextYielding, LoadRulesOptions, RuleError } from './rule-file.loader';

const ENV = { SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T/B/x', SCALER_URL: 'https://scaler.example.com', SCALER_TOKEN: 't0k3n' };
const OPTIONS: LoadRulesOptions = { env: ENV, source: 'rules.yaml', slackDefaultConfigured: true };

function errorsOf(text: string, options: Partial<LoadRulesOptions> = {}): string[] {
  const result = loadRulesFromText(text, { ...OPTIONS, ...options });
  if (result.ok) throw new Error('expected the file to be refused');
  return formatRuleErrors(result.errors).split('\n');
}

function oneRule(body: string): string {
  return `rules:\n  - id: r1\n${body.replace(/^/gm, '    ')}\n`;
}

const SLACK = 'do:\n  - slack:\n      text: hi';

describe('rule-file.loader', () => {
  describe('loadRulesFromText', () => {
    it('should load the example rules.yaml of the repository', () => {
      const text = readFileSync(join(__dirname, '..', '..', 'rules.yaml'), 'utf8');
      const result = loadRulesFromText(text, OPTIONS);
      expect(result.ok && result.ruleSet.rules.map((rule) => rule.id)).toEqual([
        'deployment-health-changed',
        'deployment-cpu-scale-up',
        'lock-crashed-deployment',
      ]);
    });

    it('should build the rules in the internal shape, with defaults and placeholders kept in actions', () => {
      const text = oneRule(
        'blueprint: vm\nwhen:\n  - changed: .properties.a\n    from: x\n    to: [y, null]\n  - crosses: properties.n\n    below: "${LIMIT}"\n' +
          'do:\n  - http:\n      url: "https://h/${LIMIT}"',
      );
      const result = loadRulesFromText(text, { ...OPTIONS, env: { LIMIT: '10' } });
      expect(result.ok && result.ruleSet.rules[0]).toEqual({
        id: 'r1',
        blueprints: ['vm'],
        events: [],
        when: [
          { kind: 'changed', path: '.properties.a', from: ['x'], to: ['y', null] },
          { kind: 'crosses', path: 'properties.n', below: 10 },
        ],
        do: [{ type: 'http', method: 'POST', url: 'https://h/${LIMIT}' }],
      });
      expect(result.ok && result.ruleSet.source).toBe('rules.yaml');
    });

    it('should keep the compiled form aside for the evaluator', () => {
      const result = loadRulesFromText(oneRule(`when:\n  - jq: .a\n${SLACK}`), OPTIONS);
      expect(result.ok && compiledRuleSetOf(result.ruleSet).rules[0].conditionGroup).toBe(0);
    });

    it.each([
      'https://scaler.internal/scale/{{ .entity.identifier }}',
      'HTTP://scaler.internal:8080/scale?x=1',
      '{{ .entity.properties.callbackUrl }}',
      '${SCALER_URL}/scale',
      'http{{ if .entity.properties.tls then "s" else "" end }}://scaler/x',
    ])('should accept the http url %s, checked again when sent', (url) => {
      expect(loadRulesFromText(oneRule(`do:\n  - http: { url: ${JSON.stringify(url)} }`), OPTIONS).ok).toBe(true);
    });

    it('should accept an empty list of rules', () => {
      expect(loadRulesFromText('rules: []\n', OPTIONS).ok).toBe(true);
    });

    const invalid: [string, string, string[]][] = [
      ['bad YAML, with its line', 'rules:\n  - id: a\n    do: [x\n  - id: b\n', ['line 4, column 3: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]']],
      ['an empty file', '', ['rules: is required: the file must be a mapping with a `rules` list']],
      ['a file that is one string (not echoed back)', 'c\u0007garbage \u001b[2J with no colon\n', ['rules: is required: the file must be a mapping with a `rules` list']],
      ['rules that is not a list', 'rules: {}\nextra: 1\n', ['extra: is not a known field (only `rules`)', 'rules: must be a list of rules']],
      ['an unknown top-level key beside a rule with an error', `version: 2\n${oneRule(`bluprint: vm\n${SLACK}`)}`, ['version: is not a known field (only `rules`)', 'rule "r1": bluprint: is not a known field']],
      ['an http url with no scheme', oneRule('do:\n  - http: { url: "scaler.internal/scale" }'), ['rule "r1": do[0].http.url: must be a URL: http:// or https://, a host, then the path']],
      ['an http url of another scheme', oneRule('do:\n  - http: { url: "ftp://files.internal/x" }'), ['rule "r1": do[0].http.url: must be an http:// or https:// URL']],
      [
        'a templated url that starts with another scheme',
        oneRule('do:\n  - http: { url: "htps://scaler/{{ .entity.identifier }}" }\n  - slack: { webhookUrl: "hooks.slack.com/${SCALER_TOKEN}" }'),
        [
          'rule "r1": do[0].http.url: must start with http:// or https://, or with the {{ }} or ${NAME} that gives the whole URL',
          'rule "r1": do[1].slack.webhookUrl: must start with http:// or https://, or with the {{ }} or ${NAME} that gives the whole URL',
        ],
      ],
      ['an anchor that contains itself', 'rules: &r [*r]\n', ['yaml: invalid YAML: Converting circular structure to JSON']],
      ['a rule that is not a mapping', 'rules:\n  - just a string\n', ['rules[0]: must be a mapping with at least `id` and `do`']],
      ['a missing id and do', 'rules:\n  - description: x\n', ['rules[0].id: must be a string', 'rules[0].do: must be a list of actions']],
      ['a bad id', 'rules:\n  - id: Not A Slug\n    do: [{ slack: { text: x } }]\n', ['rule "Not A Slug": id: must be a slug: lowercase letters, digits, "-" and "_", starting with a letter or digit']],
      ['an unknown field', oneRule(`bluprint: vm\n${SLACK}`), ['rule "r1": bluprint: is not a known field']],
      ['a bad blueprint and events', oneRule(`blueprint: []\nevents: [UPDATE, update]\n${SLACK}`), ['rule "r1": blueprint: must be a name or a non-empty list of names', 'rule "r1": events: must contain only CREATE, UPDATE, DELETE, TIMER_EXPIRED']],
      ['events that is not a list', oneRule(`events: UPDATE\n${SLACK}`), ['rule "r1": events: must be a list of CREATE, UPDATE, DELETE, TIMER_EXPIRED']],
      ['an empty do', 'rules:\n  - id: r1\n    do: []\n', ['rule "r1": do: must list at least one action']],
      ['a condition of no known kind', oneRule(`when:\n  - chnaged: a\n${SLACK}`), ['rule "r1": when[0]: must have one of changed, crosses, jq']],
      ['a condition of two kinds', oneRule(`when:\n  - changed: a\n    jq: .a\n${SLACK}`), ['rule "r1": when[0]: must have only one of changed, crosses, jq (found changed and jq)']],
      ['crosses with both thresholds', oneRule(`when:\n  - crosses: a\n    above: 1\n    below: 2\n${SLACK}`), ['rule "r1": when[0]: must have exactly one of `above` or `below`']],
      ['crosses with an empty threshold', oneRule(`when:\n  - crosses: a\n    above:\n${SLACK}`), ['rule "r1": when[0].above: must be a number (it is empty)']],
      ['crosses with a hexadecimal threshold', oneRule(`when:\n  - crosses: a\n    below: "0x10"\n${SLACK}`), ['rule "r1": when[0].below: must be a number']],
      ['changed from or to an empty list', oneRule(`when:\n  - changed: a\n    from: []\n    to: []\n${SLACK}`), [
        'rule "r1": when[0].from: must list at least one value (a list means any one of them; leave it out for any value)',
        'rule "r1": when[0].to: must list at least one value (a list means any one of them; leave it out for any value)',
      ]],
      ['an empty events list', oneRule(`events: []\n${SLACK}`), ['rule "r1": events: must list at least one event (leave `events` out for CREATE, UPDATE and DELETE)']],
      ['crosses with no threshold and a typo', oneRule(`when:\n  - crosses: a\n    abov: 1\n${SLACK}`), ['rule "r1": when[0].abov: is not a known field', 'rule "r1": when[0]: must have exactly one of `above` or `below`']],
      ['a non-numeric threshold', oneRule(`when:\n  - crosses: a\n    above: high\n${SLACK}`), ['rule "r1": when[0].above: must be a number']],
      ['an empty changed path', oneRule(`when:\n  - changed: ""\n${SLACK}`), ['rule "r1": when[0].changed: must not be empty']],
      ['invalid jq in a condition', oneRule(`when:\n  - jq: .a +\n${SLACK}`), ['rule "r1": when[0].jq: jq: compile error: syntax error, unexpected $end']],
      ['an action of two kinds', oneRule('do:\n  - slack: { text: x }\n    http: { url: y }'), ['rule "r1": do[0]: must have only one of slack, http, port (found slack and http)']],
      ['an action of no known kind', oneRule('do:\n  - email: { to: x }'), ['rule "r1": do[0]: must have one of slack, http, port']],
      ['a bad http action', oneRule('do:\n  - http:\n      method: FETCH\n      url: 42\n      headers: { A: 1 }\n      timeoutMs: 0'), [
        'rule "r1": do[0].http.method: must be one of GET, POST, PUT, PATCH, DELETE',
        'rule "r1": do[0].http.url: must be a string',
        'rule "r1": do[0].http.headers: must be a map of strings',
        'rule "r1": do[0].http.timeoutMs: must be at least 1',
      ]],
      ['a port action that changes nothing', oneRule('do:\n  - port: { entity: x }'), ['rule "r1": do[0].port: must set at least one of properties, relations, title, team, icon']],
      ['a port action that is not a mapping', oneRule('do:\n  - port: lock'), ['rule "r1": do[0].port: must be a mapping']],
      ['bad slack blocks', oneRule('do:\n  - slack: { blocks: [1] }'), ['rule "r1": do[0].slack.blocks: must contain only objects']],
      ['unbalanced template braces', oneRule('do:\n  - slack: { text: "{{ .a" }'), ['rule "r1": do[0].slack.text: template: Found opening double braces in index 0 without closing double braces']],
      ['invalid jq in a template', oneRule('do:\n  - http: { url: "https://x/{{ .a | }}" }'), ['rule "r1": do[0].http.url: jq: compile error: syntax error, unexpected $end']],
      ['an unset variable', oneRule('do:\n  - http:\n      url: https://x\n      headers: { Authorization: "Bearer ${NOPE}" }'), ['rule "r1": do[0].http.headers.Authorization: ${NOPE} is not set in the environment']],
      ['an unset variable in a condition', oneRule(`when:\n  - jq: .a == "\${NOPE}"\n${SLACK}`), ['rule "r1": when[0].jq: ${NOPE} is not set in the environment']],
      ['a variable inside {{ }} of an action', oneRule('do:\n  - slack: { text: "{{ \\"${SCALER_TOKEN}\\" }}" }'), ['rule "r1": do[0].slack.text: ${SCALER_TOKEN} cannot be used inside {{ }}: write it outside the braces so it is resolved only when sending']],
      ['a variable in a key of an action', oneRule('do:\n  - http:\n      url: https://x\n      headers: { "${SCALER_TOKEN}": x }'), ['rule "r1": do[0].http.headers."${SCALER_TOKEN}" (key): ${NAME} placeholders are not supported in keys']],
    ];

    it.each(invalid)('should refuse %s, naming the rule and field', (_name, text, expected) => {
      expect(errorsOf(text)).toEqual(expected);
    });

    it('should escape control characters an error quotes (a terminal escape, a carriage return)', () => {
      const result = loadRulesFile('/nonexistent/\u001b[2Jrules\r.yaml', OPTIONS);
      const shown = result.ok ? '' : formatRuleErrors(result.errors);
      expect(shown).toBe('cannot read /nonexistent/\\u001b[2Jrules\\u000d.yaml: no such file');
    });

    // One bad expression makes the file's expressions be compiled one by one, to name it; they used
    // to be run (on null) to do so, and the one that never ends hung the loader, the service's start
    // and `rules check`.
    it('should name invalid jq without running a rule that never ends', () => {
      const text = `rules:\n  - id: loops\n    when:\n      - jq: "def f: f; f"\n    ${SLACK.replace(/\n/g, '\n    ')}\n  - id: typo\n    when:\n      - jq: ".a +"\n    ${SLACK.replace(/\n/g, '\n    ')}\n`;
      expect(errorsOf(text)).toEqual(['rule "typo": when[0].jq: jq: compile error: syntax error, unexpected $end']);
    });

    it('should refuse a slack action without webhookUrl when SLACK_WEBHOOK_URL is not set', () => {
      expect(errorsOf(oneRule(SLACK), { slackDefaultConfigured: false })).toEqual([
        'rule "r1": do[0].slack.webhookUrl: is required when SLACK_WEBHOOK_URL is not set',
      ]);
      expect(loadRulesFromText(oneRule('do:\n  - slack: { webhookUrl: "${SLACK_WEBHOOK_URL}" }'), { ...OPTIONS, slackDefaultConfigured: false }).ok).toBe(true);
    });

    it('should name both positions of a duplicate id', () => {
      const text = `rules:\n  - id: a\n    ${SLACK.replace(/\n/g, '\n    ')}\n  - id: b\n    ${SLACK.replace(/\n/g, '\n    ')}\n  - id: a\n    ${SLACK.replace(/\n/g, '\n    ')}\n`;
      expect(errorsOf(text)).toEqual(['rule "a": id: duplicate id: used by rules[0] (line 2) and rules[2] (line 10)']);
    });

    it('should find a duplicate id that ${NAME}s make (the ids the service would use)', () => {
      const rule = (id: string) => `  - id: "${id}"\n    ${SLACK.replace(/\n/g, '\n    ')}\n`;
      const text = `rules:\n${rule('${A}')}${rule('same')}${rule('${B}')}`;
      expect(errorsOf(text, { env: { A: 'one', B: 'same' } })).toEqual(['rule "same": id: duplicate id: used by rules[1] (line 6) and rules[2] (line 10)']);
      expect(loadRulesFromText(text, { ...OPTIONS, env: { A: 'one', B: 'two' } }).ok).toBe(true);
    });

    it('should say that a file of several YAML documents needs one rules list, not quote the library', () => {
      expect(errorsOf(`${oneRule(SLACK)}---\n${oneRule(SLACK)}`)).toEqual([
        'line 6, column 1: invalid YAML: the file holds more than one YAML document (a `---` line after the first): put every rule in one `rules` list',
      ]);
    });

    it('should report every error of every rule at once', () => {
      const text = 'rules:\n  - id: a\n    do: [{ http: { url: 1 } }]\n  - id: b\n    when: [{ jq: ".x +" }]\n    do: [{ slack: { text: "{{" } }]\n';
      const result = loadRulesFromText(text, OPTIONS);
      expect(!result.ok && result.errors.map((error: RuleError) => `${error.ruleId}/${error.field}`)).toEqual([
        'a/do[0].http.url',
        'b/do[0].slack.text',
        'b/when[0].jq',
      ]);
    });

    it('should substitute variables in conditions and turn $${NAME} into the literal text', () => {
      const text = oneRule(`when:\n  - jq: '.a == "\${MODE}" and .b == "$\${MODE}"'\n${SLACK}`);
      const result = loadRulesFromText(text, { ...OPTIONS, env: { MODE: 'strict' } });
      expect(result.ok && result.ruleSet.rules[0].when).toEqual([{ kind: 'jq', expression: '.a == "strict" and .b == "${MODE}"' }]);
    });

    it('should not require a variable that is only escaped or only in a comment', () => {
      expect(loadRulesFromText(`# \${COMMENTED}\n${oneRule('do:\n  - slack: { text: "$${LITERAL}" }')}`, OPTIONS).ok).toBe(true);
    });
  });

  describe('loadRulesFromTextYielding (the service\'s reload)', () => {
    /** `count` rules, each a jq condition and a jq template: about count / 100 jq programs per kind. */
    const jqRules = (count: number, broken?: number) =>
      `rules:\n${Array.from({ length: count }, (_, i) => `  - id: jq-${i}\n    when:\n      - jq: '${i === broken ? '.a +' : `(.changes | length) > ${i % 4}`}'\n    do:\n      - slack: { text: "{{ .changes | length + ${i} }}" }\n`).join('')}`;

    /** Resolves what `load` resolves, with how many times the event loop turned (setImmediate) meanwhile. */
    async function withTurns<T>(load: Promise<T>): Promise<{ value: T; turns: number }> {
      let turns = 0;
      let done = false;
      const turn = () => {
        if (done) return;
        turns += 1;
        setImmediate(turn);
      };
      setImmediate(turn);
      const value = await load;
      done = true;
      return { value, turns };
    }

    it('should load what loadRulesFromText loads, letting the event loop turn between jq programs', async () => {
      const text = jqRules(250);
      const { value, turns } = await withTurns(loadRulesFromTextYielding(text, OPTIONS));
      const sync = loadRulesFromText(text, OPTIONS);
      expect(value.ok && sync.ok).toBe(true);
      expect(value.ok && value.ruleSet.rules).toEqual(sync.ok && sync.ruleSet.rules);
      const compiled = value.ok ? compiledRuleSetOf(value.ruleSet) : undefined;
      expect([compiled?.conditions.programCount, compiled?.templates.programCount]).toEqual([3, 3]);
      // One turn or more between each two of the six programs' compilations.
      expect(turns).toBeGreaterThanOrEqual(5);
    });

    it('should refuse what loadRulesFromText refuses, with the same errors, and never throw', async () => {
      const broken = jqRules(250, 210);
      const result = await loadRulesFromTextYielding(broken, OPTIONS);
      expect(!result.ok && formatRuleErrors(result.errors)).toBe('rule "jq-210": when[0].jq: jq: compile error: syntax error, unexpected $end');
      expect(result).toEqual(loadRulesFromText(broken, OPTIONS));
      const deep = `rules:\n  - id: r1\n    do:\n      - slack: { text: ${'['.repeat(20_000)}${']'.repeat(20_000)} }\n`;
      // Where (and how often) the stack runs out depends on the stack's depth at the call: refused, whatever the columns.
      const deepResult = await loadRulesFromTextYielding(deep, OPTIONS);
      expect(deepResult.ok).toBe(false);
      expect(!deepResult.ok && deepResult.errors.map((error) => error.message)).toEqual(expect.arrayContaining([expect.stringMatching(/call stack|nested too deeply/)]));
      expect(!deepResult.ok && deepResult.errors.every((error) => /call stack|nested too deeply/.test(error.message))).toBe(true);
    });
  });

  describe('loadRulesFile', () => {
    it('should refuse a missing file as an error', () => {
      const result = loadRulesFile('/nonexistent/rules.yaml', OPTIONS);
      expect(!result.ok && formatRuleErrors(result.errors)).toBe('cannot read /nonexistent/rules.yaml: no such file');
    });

    it('should load a file and name it as the source', () => {
      const result = loadRulesFile(join(__dirname, '..', '..', 'rules.yaml'), { env: ENV, slackDefaultConfigured: true });
      expect(result.ok && result.ruleSet.source).toMatch(/rules\.yaml$/);
    });
  });

  describe('formatRuleErrors', () => {
    it('should print one line per error naming rule and field', () => {
      expect(formatRuleErrors([{ ruleId: 'deployment-degraded', field: 'do[0].http.url', message: 'must be a string' }, { field: 'rules', message: 'must be a list' }])).toBe(
        'rule "deployment-degraded": do[0].http.url: must be a string\nrules: must be a list',
      );
    });
  });
});
