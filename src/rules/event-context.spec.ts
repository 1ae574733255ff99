import { readSampleJson } from '../../test/support/port-samples';
import { parsePortBody } from '../changes/change-event.parser';
import { changesFor } from '../changes/entity-diff';
import { eventContext } from './event-context';

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
