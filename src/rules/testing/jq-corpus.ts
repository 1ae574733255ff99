/** Expressions that exercise Port's jq semantics; both the single and the batched runner must match the public `exec` on them. */
export const JQ_EQUIVALENCE_CORPUS = [
  '.diff.after.properties.healthStatus',
  '.entity.properties.cpuUtil > 80',
  ".entity.properties.healthStatus == 'Degraded'",
  '.changes | map(.path)',
  '.changes[] | .path',
  '.changes[] | select(.path == "properties.cpuUtil") | .after',
  'empty',
  'error("boom")',
  '(1, error("late"))',
  'error(null)',
  'error({"a": 1})',
  '.entity.title | .x',
  '.missing.deeply.nested',
  'def twice: . * 2; .entity.properties.cpuUtil | twice',
  '.entity.title # a trailing comment',
  '"\\(.entity.title) is \\(.entity.properties.healthStatus)"',
  '.rule.id',
  '[limit(2; .changes[])] | length',
  'first(empty)',
  'tojson | length > 10',
  '[.. | numbers] | add',
  '.entity.properties | keys',
  'env',
  '$ENV',
  '.entity.properties.cpuUtil as $c | if $c > 80 then "hot" else "ok" end',
  '{a: 1, b: [true, null, "x"]}',
  'now | type',
];

export function jqEquivalenceContext(): Record<string, unknown> {
  const before = { identifier: 'svc', title: 'Svc', properties: { healthStatus: 'Healthy', cpuUtil: 25 } };
  const after = { identifier: 'svc', title: 'Svc', properties: { healthStatus: 'Degraded', cpuUtil: 85 } };
  return {
    action: 'UPDATE',
    resourceType: 'entity',
    context: { blueprint: 'deploymentConfig', entity: 'svc' },
    diff: { before, after },
    entity: after,
    changes: [
      { path: 'properties.cpuUtil', before: 25, after: 85 },
      { path: 'properties.healthStatus', before: 'Healthy', after: 'Degraded' },
    ],
    event: { id: 'evt-1', source: 'webhook', receivedAt: '2026-11-22T10:00:01.000Z' },
    rule: { id: 'rule-a', description: 'a rule' },
  };
}
