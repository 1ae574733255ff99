import { readSampleJson } from '../../test/support/port-samples';
import { parsePortBody } from '../changes/change-event.parser';
import { changesFor } from '../changes/entity-diff';
import { exec } from '@port-labs/jq-node-bindings';
import { eventContext, wellFormedForJq } from './event-context';
import { runJqProgram } from './jq-expression';

function eventFrom(body: unknown) {
  const result = parsePortBody(body, { source: 'webhook', receivedAt: '2026-11-22T10:00:00.000Z' });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.event;
}

describe(eventContext.name, () => {
  const vm = readSampleJson('kafka-changelog-entity-update-vm-free_storage.json') as Record<string, unknown>;

  it.each([
    ['a changelog body', vm],
    ['a body that carries its own `rule` key', { ...vm, rule: { id: 'from-the-sender' } }],
  ])('should hold %s as sent, plus entity, changes and event, and no `rule`', (_name, body) => {
    const event = eventFrom(body);
    const changes = changesFor(event);
    const context = eventContext(event, changes);
    const { rule: _dropped, ...sent } = event.body;
    expect(context).toEqual({ ...sent, entity: event.body.diff?.after, changes, event: { id: event.id, source: 'webhook', receivedAt: event.receivedAt } });
    expect(context).not.toHaveProperty('rule');
  });
});

describe(wellFormedForJq.name, () => {
  it.each([
    ['a lone high surrogate (jq 1.6 refuses it as it is)', { a: 'lone\ud800x' }, { a: 'lone\ufffdx' }],
    ['a lone low surrogate at the end', { a: 'x\udfff' }, { a: 'x\ufffd' }],
    ['a pair, kept', { a: 'ok \ud83d\ude00' }, { a: 'ok \ud83d\ude00' }],
    ['the text \\ud800 after a backslash, kept', { a: '\\ud800' }, { a: '\\ud800' }],
    ['a backslash then a lone surrogate', { a: '\\\ud800' }, { a: '\\\ufffd' }],
  ])('should make JSON with %s one jq 1.6 reads', (_name, value, expected) => {
    const json = wellFormedForJq(JSON.stringify(value));
    expect(JSON.parse(json)).toEqual(expected);
    expect(exec(JSON.parse(json), '.a | length', { throwOnError: true })).toBe([...expected.a].length);
    expect(runJqProgram(json, '.a')).toBe(expected.a);
  });

  it('should be needed: jq 1.6 refuses the escape of a lone surrogate', () => {
    expect(() => runJqProgram(JSON.stringify({ a: 'lone\ud800x' }), '.a')).toThrow('not valid JSON');
  });
});
