'use strict';
// Rule evaluation (diff + rules, no I/O) per event, against one raw jq call on the same body in the
// same process; then the api's throughput when every webhook is evaluated before its 202. Needs `npm run build` first.
const { readFileSync, writeFileSync, mkdtempSync } = require('node:fs');
const { tmpdir } = require('node:os');
const path = require('node:path');
const { Queue } = require('bullmq');
const { Agent, request } = require('undici');
const { exec } = require('@port-labs/jq-node-bindings');
const { startService, removeKeys, fmt, ROOT, REDIS_URL } = require('./lib');
const { loadRulesFromText, loadRulesFromTextYielding, formatRuleErrors } = require(path.join(ROOT, 'dist/rules/rule-file.loader.js'));
const { parsePortBody } = require(path.join(ROOT, 'dist/changes/change-event.parser.js'));
const { changesFor } = require(path.join(ROOT, 'dist/changes/entity-diff.js'));
const { evaluateRules } = require(path.join(ROOT, 'dist/rules/rule-evaluator.js'));

const SAMPLES = path.join(ROOT, '../shared/port-samples');
const SECONDS = Number(process.env.BENCH_EVAL_SECONDS ?? 2.1);
const ROUNDS = 3;
const API_EVENTS = Number(process.env.BENCH_API_EVENTS ?? 3000);
const LOAD_SIZES = [100, 1600];
const PORT_APP_URL = 'https://app.getport.io';
// Closed port: the example rules' targets; nothing is sent (ROLE=api runs no actions).
const CLOSED = '127.0.0.1:9';
// The example rules.yaml needs these; passed as the loader's env rather than written into
// process.env, so later bench sections (which spawn services with process.env) are unaffected.
const RULE_ENV = { SLACK_WEBHOOK_URL: `http://${CLOSED}/services/T/B/bench`, SCALER_URL: `http://${CLOSED}`, SCALER_TOKEN: 'bench-token' };

const readJson = (name) => JSON.parse(readFileSync(path.join(SAMPLES, name), 'utf8'));
const ENTITY = readJson('entity-deploymentConfig-notification-service-prod.json');
const VM_UPDATE = readJson('kafka-changelog-entity-update-vm-free_storage.json');

/** A deploymentConfig UPDATE: healthStatus Healthy -> Degraded, cpuUtil 25 -> 85. */
function deploymentUpdate(n = 0) {
  const before = { ...ENTITY, blueprint: 'deploymentConfig' };
  return {
    action: 'UPDATE', resourceType: 'entity', status: 'SUCCESS',
    trigger: { by: { orgId: 'org_1', userId: 'someone@example.com' }, origin: 'UI', at: new Date(1_800_000_000_000 + n).toISOString() },
    context: { entity: `notification-service-prod-${n}`, blueprint: 'deploymentConfig', runId: null },
    diff: { before, after: { ...before, properties: { ...ENTITY.properties, healthStatus: 'Degraded', cpuUtil: 85 } } },
  };
}

function vmUpdate(n = 0) {
  return { ...VM_UPDATE, trigger: { ...VM_UPDATE.trigger, at: new Date(1_800_000_000_000 + n).toISOString() }, context: { ...VM_UPDATE.context, entity: `vm-${n}` } };
}

function parsed(body) {
  const result = parsePortBody(body, { source: 'webhook', receivedAt: new Date().toISOString() });
  if (!result.ok) throw new Error(`bench event does not parse: ${JSON.stringify(result.errors)}`);
  return result.event;
}

// Per blueprint: a string property (for `changed`) and a number property (for `crosses` and jq).
const BLUEPRINTS = [
  { name: 'deploymentConfig', text: 'healthStatus', from: 'Healthy', to: ['Degraded', 'Crashed'], number: 'cpuUtil', above: true },
  { name: 'vm', text: 'deployed', from: 'Deployed', to: ['Stopped'], number: 'free_storage', above: false },
  { name: 'service', text: 'status', from: 'Active', to: ['Deprecated'], number: 'latencyMs', above: true },
  { name: 'cluster', text: 'phase', from: 'Running', to: ['Degraded', 'Down'], number: 'nodeCount', above: false },
  { name: 'database', text: 'state', from: 'Online', to: ['Offline'], number: 'connections', above: true },
];

function condition(kind, bp, i) {
  const threshold = bp.above ? 40 + (i % 6) * 10 : 1 + (i % 6);
  if (kind === 'changed') return [`      - changed: properties.${bp.text}`, `        from: ${bp.from}`, `        to: [${bp.to.join(', ')}]`];
  if (kind === 'crosses') return [`      - crosses: properties.${bp.number}`, `        ${bp.above ? 'above' : 'below'}: ${threshold}`];
  return [`      - jq: '.diff.after.properties.${bp.number} ${bp.above ? '>' : '<'} ${threshold} and .entity.properties.locked != true'`];
}

function action(bp, i) {
  if (i % 2 === 0) return ['      - slack:', `          text: ":bell: {{ .entity.title }} ${bp.name} rule ${i}: {{ .diff.after.properties.${bp.text} }}"`];
  return [
    '      - http:',
    `          url: "\${SCALER_URL}/hooks/${bp.name}/{{ .context.entity }}"`,
    '          headers: { Authorization: "Bearer ${SCALER_TOKEN}" }',
    `          body: { rule: "{{ .rule.id }}", value: "{{ .diff.after.properties.${bp.number} }}" }`,
  ];
}

/** A realistic mix: five blueprints, `changed` with from/to, `crosses`, jq; one slack or http action each. */
function generatedRules(count) {
  const lines = [];
  for (let i = 0; i < count; i += 1) {
    const bp = BLUEPRINTS[i % BLUEPRINTS.length];
    const kind = ['changed', 'crosses', 'jq'][Math.floor(i / BLUEPRINTS.length) % 3];
    lines.push(`  - id: generated-${kind}-${bp.name.toLowerCase()}-${i}`, `    blueprint: ${bp.name}`, '    events: [UPDATE]', '    when:', ...condition(kind, bp, i), '    do:', ...action(bp, i));
  }
  return lines.join('\n');
}

const JQ_SHAPES = [
  (i) => `(.changes | length) > ${i % 4}`,
  (i) => `.changes | map(.path) | index("properties.cpuUtil") != null and ${i} > 0`,
  (i) => `(.entity.properties | to_entries | length) > ${i % 10}`,
  (i) => `(.diff.before.properties.cpuUtil // 0) < ${i}`,
  (i) => `.entity.title | test("${['Service', 'VM', 'Production', 'Example'][i % 4]}")`,
];

/** Every rule reaches jq: no blueprint, no JS condition; about half match and render a template. `tag` makes the ids (and so the jq programs) new. */
function jqRules(count, tag = '') {
  const lines = ['rules:'];
  for (let i = 0; i < count; i += 1) {
    lines.push(`  - id: jq${tag}-${i}`, '    when:', `      - jq: '${JQ_SHAPES[i % JQ_SHAPES.length](i)}'`, '    do:', '      - slack:', `          text: "{{ .entity.title }} jq-${i} {{ .changes | length }}"`);
  }
  return lines.join('\n');
}

function exampleWithGenerated(count) {
  return `${readFileSync(path.join(ROOT, 'rules.yaml'), 'utf8').trimEnd()}\n${generatedRules(count)}\n`;
}

const loadOptions = (source) => ({ env: { ...process.env, ...RULE_ENV }, source, slackDefaultConfigured: true });

function load(text, name) {
  const result = loadRulesFromText(text, loadOptions(name));
  if (!result.ok) throw new Error(`${name} is invalid:\n${formatRuleErrors(result.errors)}`);
  return result.ruleSet;
}

/** Runs `step(i)` for about `seconds`, checking the clock every 64 calls; returns calls and ns. */
function timed(step, seconds) {
  const budget = BigInt(Math.round(seconds * 1e9));
  const start = process.hrtime.bigint();
  let calls = 0;
  let elapsed = 0n;
  do {
    for (let k = 0; k < 64; k += 1) step(calls++);
    elapsed = process.hrtime.bigint() - start;
  } while (elapsed < budget);
  return { calls, ns: Number(elapsed) };
}

/** Cases alternated in ROUNDS slices (SECONDS in all per case), so machine noise hits each alike. */
function measure(cases) {
  for (const c of cases) timed(c.step, 0.3); // warm-up: JIT, jq's compiled-filter cache
  const totals = cases.map(() => ({ calls: 0, ns: 0 }));
  for (let round = 0; round < ROUNDS; round += 1) {
    cases.forEach((c, i) => {
      const { calls, ns } = timed(c.step, SECONDS / ROUNDS);
      totals[i].calls += calls;
      totals[i].ns += ns;
    });
  }
  return cases.map(({ name, rules }, i) => {
    const { calls, ns } = totals[i];
    const usPerEvent = ns / 1e3 / calls;
    return { name, rules, events: calls, seconds: ns / 1e9, eventsPerSecond: calls / (ns / 1e9), usPerEvent, usPerRule: rules ? usPerEvent / rules : undefined };
  });
}

function inProcess() {
  const events = [parsed(deploymentUpdate()), parsed(vmUpdate())];
  const evaluate = (ruleSet) => (i) => {
    const event = events[i & 1];
    evaluateRules(ruleSet, event, changesFor(event), { portAppUrl: PORT_APP_URL });
  };
  const matchesOf = (ruleSet) => events.map((event) => evaluateRules(ruleSet, event, changesFor(event), { portAppUrl: PORT_APP_URL }).matches.length);
  const mixed = load(exampleWithGenerated(50), 'rules.yaml + 50 generated');
  const allJq = load(jqRules(100), '100 jq rules');
  const [baseline, ...cases] = measure([
    { name: 'baseline: one jq exec(body, ".")', step: (i) => exec(events[i & 1].body, '.') },
    { name: `rules.yaml + 50 generated (${mixed.rules.length} rules)`, step: evaluate(mixed), rules: mixed.rules.length },
    { name: `100 rules all reaching jq`, step: evaluate(allJq), rules: allJq.rules.length },
  ]);
  cases[0].matches = matchesOf(mixed);
  cases[1].matches = matchesOf(allJq);
  for (const c of cases) c.ratioToBaseline = c.usPerEvent / baseline.usPerEvent;
  return { baseline, cases };
}

/**
 * The built service as ROLE=api: each webhook is evaluated (rules.yaml + 50 generated), recorded and its
 * action jobs queued before its 202. N webhooks, 32 in flight, timed from the first to the last answer.
 */
async function throughApi() {
  const prefix = `bench-eval-${Date.now()}`;
  const rulesFile = path.join(mkdtempSync(path.join(tmpdir(), 'bench-eval-rules-')), 'rules.yaml');
  writeFileSync(rulesFile, exampleWithGenerated(50));
  const actions = new Queue('actions', { connection: { url: REDIS_URL, maxRetriesPerRequest: null }, prefix });
  const agent = new Agent({ connections: 32 });
  let service;
  try {
    service = await startService({ ROLE: 'api', QUEUE_PREFIX: prefix, RULES_FILE: rulesFile, ...RULE_ENV, LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info' });
    const url = `http://127.0.0.1:${service.port}/webhooks/port`;
    const bodies = Array.from({ length: API_EVENTS + 500 }, (_, n) => JSON.stringify(n % 2 ? vmUpdate(n) : deploymentUpdate(n)));
    let failed = 0;
    const send = async (list) => {
      let next = 0;
      await Promise.all(Array.from({ length: 32 }, async () => {
        while (next < list.length) {
          const response = await request(url, { method: 'POST', body: list[next++], headers: { 'content-type': 'application/json' }, dispatcher: agent });
          await response.body.dump();
          if (response.statusCode !== 202) failed += 1;
        }
      }));
    };
    await send(bodies.slice(0, 500)); // JIT, connections, scripts: not measured
    const start = process.hrtime.bigint();
    await send(bodies.slice(500));
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const queued = await actions.getJobCounts('waiting', 'delayed', 'prioritized');
    const actionJobs = Object.values(queued).reduce((sum, n) => sum + n, 0);
    return { events: API_EVENTS, seconds, eventsPerSecond: API_EVENTS / seconds, failed, actionJobs };
  } finally {
    await agent.close();
    await service?.stop();
    await actions.close();
    await removeKeys(prefix);
  }
}

/**
 * Loading (validating and compiling) rules files of jq rules, small and large, each timed once: ms
 * per rule at both sizes, at once (a start, `rules check`) and as the service reloads a changed file
 * (the event loop turning between jq programs): then the longest the event loop stood still, which
 * is how long a webhook could wait for the reload.
 */
async function loading() {
  const results = [];
  for (const count of LOAD_SIZES) {
    let start = process.hrtime.bigint();
    load(jqRules(count), `${count} jq rules`);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    // New ids: new programs, not the ones the binding has cached from the load above.
    let last = process.hrtime.bigint();
    let longestStallMs = 0;
    const watch = setInterval(() => {
      const now = process.hrtime.bigint();
      longestStallMs = Math.max(longestStallMs, Number(now - last) / 1e6);
      last = now;
    }, 1);
    start = process.hrtime.bigint();
    const reloaded = await loadRulesFromTextYielding(jqRules(count, 'b'), loadOptions('reload'));
    const reloadMs = Number(process.hrtime.bigint() - start) / 1e6;
    clearInterval(watch);
    longestStallMs = Math.max(longestStallMs, Number(process.hrtime.bigint() - last) / 1e6);
    if (!reloaded.ok) throw new Error(`${count} jq rules did not reload:\n${formatRuleErrors(reloaded.errors)}`);
    results.push({ count, ms, msPerRule: ms / count, reloadMs, longestStallMs });
  }
  return results;
}

async function run() {
  const loads = await loading();
  const { baseline, cases } = inProcess();
  const api = await throughApi();
  console.log(`\n## Rule evaluation: changesFor + evaluateRules per event (deploymentConfig and vm UPDATE alternated), ${fmt(SECONDS)}s per case in ${ROUNDS} alternated rounds, one process`);
  console.log(`${baseline.name}: ${fmt(baseline.eventsPerSecond, 0)} events/s, ${fmt(baseline.usPerEvent, 2)} µs/event`);
  for (const c of cases) {
    console.log(`${c.name}: ${fmt(c.eventsPerSecond, 0)} events/s, ${fmt(c.usPerEvent, 2)} µs/event, ${fmt(c.usPerRule, 3)} µs/rule, ${fmt(c.ratioToBaseline, 2)}x one raw jq call (matches per event: deploymentConfig ${c.matches[0]}, vm ${c.matches[1]})`);
  }
  console.log(`api (ROLE=api, rules.yaml + 50 generated, 32 webhooks in flight, each evaluated, recorded and its actions queued before the 202): ${api.events} events in ${fmt(api.seconds, 2)} s = ${fmt(api.eventsPerSecond, 0)} events/s (non-202: ${api.failed}); ${api.actionJobs} action jobs queued (${API_EVENTS + 500} events with warm-up)`);
  const [small, large] = loads;
  console.log(`loading a rules file of jq rules (a condition and a template each): ${loads.map((l) => `${l.count} rules ${fmt(l.ms, 0)} ms (${fmt(l.msPerRule, 2)} ms/rule)`).join(', ')}; per rule ${fmt(large.msPerRule / small.msPerRule, 2)}x at ${large.count / small.count} times the rules (1.00x: linear)`);
  console.log(`reloading them as the service does (the event loop turning between jq programs): ${loads.map((l) => `${l.count} rules ${fmt(l.reloadMs, 0)} ms, the event loop still for ${fmt(l.longestStallMs, 0)} ms at most (${fmt(l.longestStallMs / l.reloadMs, 2)}x the reload)`).join(', ')}`);
  return { baseline, mixed: cases[0], allJq: cases[1], api, loads };
}

module.exports = { run };
if (require.main === module) run().catch((error) => { console.error(error); process.exit(1); });
