import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChangeEvent } from '../changes/change-event';
import { changesFor } from '../changes/entity-diff';
import { loadRulesFromText } from './rule-file.loader';
import { evaluateRules, RuleEvaluation } from './rule-evaluator';
import type { RuleSet } from './rule.types';
import { resolveSecrets } from './secret-placeholders';
import { deploymentConfigEvent, eventFromBody, loadSample } from '../../test/factories/rule-test-events';

const ENV = { SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T/B/x', SCALER_URL: 'https://scaler.example.com', SCALER_TOKEN: 't0k3n' };
const OPTIONS = { portAppUrl: 'https://app.port.io' };

function rules(yaml: string): RuleSet {
  const result = loadRulesFromText(yaml, { env: ENV, source: 'test', slackDefaultConfigured: true });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.ruleSet;
}

function evaluate(ruleSet: RuleSet, event: ChangeEvent): RuleEvaluation {
  return evaluateRules(ruleSet, event, changesFor(event), OPTIONS);
}

const matchedIds = (result: RuleEvaluation) => result.matches.map((match) => match.ruleId);
const example = () => rules(readFileSync(join(__dirname, '..', '..', 'rules.yaml'), 'utf8'));

describe('evaluateRules', () => {
  it('should match and render the example rules for Healthy -> Degraded with CPU 25 -> 85', () => {
    const result = evaluate(example(), deploymentConfigEvent({ healthStatus: 'Degraded', cpuUtil: 85 }));
    expect(result.failures).toEqual([]);
    expect(result.skipped).toEqual([
      { ruleId: 'lock-crashed-deployment', reason: 'when[0].changed: properties.healthStatus changed to "Degraded", not to "Crashed"' },
    ]);
    expect(result.matches).toEqual([
      {
        ruleId: 'deployment-health-changed',
        description: "Tell the on-call channel when a deployment's health status changes",
        actions: [{ type: 'slack', webhookUrl: '${SLACK_WEBHOOK_URL}', text: ':warning: Notification Service Production is Degraded (was Healthy)' }],
      },
      {
        ruleId: 'deployment-cpu-scale-up',
        description: 'Scale a deployment up when its CPU utilisation crosses 80%',
        actions: [
          {
            type: 'http',
            method: 'POST',
            url: '${SCALER_URL}/services/notification-service-prod/scale',
            headers: { Authorization: 'Bearer ${SCALER_TOKEN}' },
            body: { service: 'notification-service-prod', cpuUtil: 85, replicas: 3, reason: 'deployment-cpu-scale-up' },
            timeoutMs: 5000,
          },
        ],
      },
    ]);
  });

  it('should lock a crashed deployment in Port and send the default Slack message', () => {
    const [port, slack] = evaluate(example(), deploymentConfigEvent({ healthStatus: 'Crashed' })).matches[1].actions;
    expect(port).toEqual({ type: 'port', blueprint: 'deploymentConfig', entity: 'notification-service-prod', properties: { locked: true } });
    expect(slack).toMatchObject({ type: 'slack', text: expect.stringContaining('properties.healthStatus: Healthy → Crashed'), blocks: expect.any(Array) });
  });

  it('should not scale up a locked deployment (jq condition false)', () => {
    const result = evaluate(example(), deploymentConfigEvent({ cpuUtil: 85, locked: true }));
    expect(result.skipped).toContainEqual({ ruleId: 'deployment-cpu-scale-up', reason: 'when[1].jq gave false' });
  });

  const filters: [string, string, () => ChangeEvent, boolean][] = [
    ['another blueprint', 'blueprint: vm', () => deploymentConfigEvent({ healthStatus: 'Degraded' }), false],
    ['one of several blueprints', 'blueprint: [vm, deploymentConfig]', () => deploymentConfigEvent({ healthStatus: 'Degraded' }), true],
    ['an event type not listed', 'events: [CREATE, DELETE]', () => deploymentConfigEvent({ healthStatus: 'Degraded' }), false],
    ['TIMER_EXPIRED by default', '', () => eventFromBody(loadSample('changelog-timer-expired-entity.json')), false],
    ['TIMER_EXPIRED when listed', 'events: [TIMER_EXPIRED]', () => eventFromBody(loadSample('changelog-timer-expired-entity.json')), true],
    ['a run event', '', () => eventFromBody(loadSample('kafka-changelog-run-create-port-agent-fixture.json')), false],
    ['a vm whose free storage drops below 1', 'blueprint: vm\nwhen: [{ crosses: properties.free_storage, below: 1 }]', () => eventFromBody(loadSample('kafka-changelog-entity-update-vm-free_storage.json')), true],
    ['a service whose language changed', 'blueprint: service\nwhen: [{ changed: properties.language, from: TypeScript, to: Python }]', () => eventFromBody(loadSample('automation-event-entity-updated-service.json')), true],
    ['a CREATE', 'events: [CREATE]\nwhen: [{ changed: properties.cpuUtil, from: null }]', () => deploymentConfigEvent({}, 'CREATE'), true],
  ];

  it.each(filters)('should decide on %s', (_name, fields, event, matches) => {
    const ruleSet = rules(`rules:\n  - id: r\n${fields.replace(/^/gm, '    ')}\n    do: [{ slack: { text: hi } }]\n`);
    expect(matchedIds(evaluate(ruleSet, event()))).toEqual(matches ? ['r'] : []);
  });

  it('should give jq conditions and templates the event context', () => {
    const ruleSet = rules(`rules:
  - id: ctx
    description: about the context
    when:
      - jq: '.changes | map(.path) == ["properties.healthStatus"]'
      - jq: .entity.identifier == .context.entity and .event.source == "webhook"
    do:
      - http:
          url: https://x
          body: { rule: "{{ .rule }}", event: "{{ .event.id }}", action: "{{ .action }}", entity: "{{ .entity.properties.healthStatus }}" }
`);
    const [action] = evaluate(ruleSet, deploymentConfigEvent({ healthStatus: 'Crashed' })).matches[0].actions;
    expect(action).toMatchObject({ body: { rule: { id: 'ctx', description: 'about the context' }, event: 'evt-test-1', action: 'UPDATE', entity: 'Crashed' } });
  });

  it('should use the state before as .entity on DELETE', () => {
    const ruleSet = rules('rules:\n  - id: gone\n    events: [DELETE]\n    when: [{ jq: ".entity.properties.healthStatus == \\"Healthy\\"" }]\n    do: [{ slack: { text: "{{ .entity.title }} deleted" } }]\n');
    const result = evaluate(ruleSet, deploymentConfigEvent({}, 'DELETE'));
    expect(result.matches[0].actions).toEqual([{ type: 'slack', text: 'Notification Service Production deleted' }]);
  });

  it.each([
    ['a number, as its text', '{{ .entity.properties.cpuUtil }}', { text: '25' }],
    ['a list, as its JSON', '{{ .entity.team }}', { text: '["platform"]' }],
    ['an object, as its JSON', '{{ {a: 1} | tojson | fromjson }}', { text: '{"a":1}' }],
    ['nothing (a missing property): the default message instead', '{{ .entity.properties.summary }}', { text: expect.stringContaining('Notification Service Production'), blocks: expect.any(Array) }],
  ])('should render a Slack text that is one {{ }} giving %s', (_name, text, expected) => {
    const ruleSet = rules(`rules:\n  - id: t\n    do: [{ slack: { text: '${text}' } }]\n`);
    const event = deploymentConfigEvent({ cpuUtil: 25 });
    (event.body.diff!.after as Record<string, unknown>).team = ['platform'];

    expect(evaluate(ruleSet, event).matches[0].actions).toEqual([{ type: 'slack', ...expected }]);
  });

  it('should report a jq error in one rule as its failure and still evaluate the others', () => {
    const ruleSet = rules(`rules:
  - id: broken-condition
    when: [{ jq: .entity.title | .x }]
    do: [{ slack: { text: a } }]
  - id: broken-template
    do: [{ slack: { text: '{{ error("boom") }}' } }]
  - id: fine
    do: [{ slack: { text: ok } }]
`);
    const result = evaluate(ruleSet, deploymentConfigEvent({ healthStatus: 'Degraded' }));
    expect(matchedIds(result)).toEqual(['fine']);
    expect(result.failures).toEqual([
      { ruleId: 'broken-condition', error: 'when[0].jq: jq: error: Cannot index string with string "x"' },
      { ruleId: 'broken-template', error: 'do[0].slack.text: jq: error: boom' },
    ]);
  });

  it('should never let event data pull a secret into an outbound message', () => {
    const ruleSet = rules(`rules:
  - id: leak
    do:
      - slack: { text: "{{ .entity.title }} / {{ .entity.properties.note }}" }
      - http:
          url: "https://x/{{ .entity.title }}"
          headers: { Authorization: "Bearer \${SCALER_TOKEN}" }
          body: { title: "{{ .entity.title }}", whole: "{{ .entity }}" }
      - slack: {}
`);
    const event = deploymentConfigEvent({ note: '$${SCALER_TOKEN}' });
    (event.body.diff!.after as Record<string, unknown>).title = '${SCALER_TOKEN}';
    const sent = JSON.stringify(resolveSecrets(evaluate(ruleSet, event).matches[0].actions, ENV));
    expect(sent).toContain('Bearer t0k3n');
    expect(sent.split('t0k3n')).toHaveLength(2);
    expect(sent).toContain('${SCALER_TOKEN} / $${SCALER_TOKEN}');
  });

  it('should compile a rule set built by hand', () => {
    const ruleSet: RuleSet = {
      source: 'hand',
      loadedAt: '2026-01-01T00:00:00.000Z',
      rules: [{ id: 'h', blueprints: [], events: [], when: [{ kind: 'jq', expression: '.entity.properties.cpuUtil > 80' }], do: [{ type: 'slack', text: '{{ .rule.id }}' }] }],
    };
    const result = evaluate(ruleSet, deploymentConfigEvent({ cpuUtil: 90 }));
    expect(result.matches).toEqual([{ ruleId: 'h', actions: [{ type: 'slack', text: 'h' }] }]);
  });
});
