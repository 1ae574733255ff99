import type { EntitySnapshot } from '../changes/change-event';
import { encodeDeletedState, encodeEntityState, entityFingerprint, storedState, type StoredEntityState } from './entity-state';
import { diffEntityStates, expiredDeletions, reconcileEvent } from './reconcile-diff';

const svc = (id: string, properties: Record<string, unknown> = {}, extra: EntitySnapshot = {}): EntitySnapshot => ({
  identifier: id,
  title: id,
  blueprint: 'service',
  team: ['platform'],
  icon: 'Service',
  properties,
  relations: { domain: 'payments' },
  ...extra,
});

const stored = (...entities: EntitySnapshot[]): Map<string, StoredEntityState> =>
  new Map(entities.map((e) => [e.identifier as string, storedState(encodeEntityState(e))]));

describe('entityFingerprint', () => {
  it('should ignore Port metadata such as updatedAt and updatedBy', () => {
    const a = svc('a', { tier: 1 }, { updatedAt: '2026-01-01T00:00:00.000Z', updatedBy: 'u1' });
    const b = svc('a', { tier: 1 }, { updatedAt: '2026-02-02T00:00:00.000Z', updatedBy: 'u2' });

    expect(entityFingerprint(a)).toBe(entityFingerprint(b));
  });

  it('should not depend on key order and treat a null property as an absent one', () => {
    const a = { identifier: 'a', properties: { x: 1, y: null }, title: 'A' };
    const b = { title: 'A', properties: { x: 1 }, identifier: 'a' };

    expect(entityFingerprint(a)).toBe(entityFingerprint(b));
  });

  it('should take an empty team or relations as none (the changelog body may leave out what the listing gives empty)', () => {
    const fromWebhook = { identifier: 'k', title: 'K', properties: { health: 'Healthy' } };
    const fromListing = { ...fromWebhook, team: [], relations: {}, icon: null };

    expect(entityFingerprint(fromListing)).toBe(entityFingerprint(fromWebhook));
    expect(entityFingerprint({ ...fromWebhook, team: ['sre'] })).not.toBe(entityFingerprint(fromWebhook));
  });

  it.each([
    ['a property', { properties: { tier: 2 } }],
    ['a relation', { relations: { domain: 'billing' } }],
    ['the title', { title: 'Renamed' }],
    ['the team', { team: ['sre'] }],
    ['the icon', { icon: 'Cloud' }],
  ])('should change when %s changes', (_what, change) => {
    expect(entityFingerprint({ ...svc('a', { tier: 1 }), ...change })).not.toBe(entityFingerprint(svc('a', { tier: 1 })));
  });
});

describe(diffEntityStates.name, () => {
  it('should find nothing when Port lists what was stored', () => {
    expect(diffEntityStates(stored(svc('a'), svc('b')), [svc('b'), svc('a', {}, { updatedAt: 'later' })])).toEqual([]);
  });

  it('should not report a state stored under an earlier fingerprint when the entity is the same', () => {
    const entity = { identifier: 'k', title: 'K', team: [], properties: { health: 'Healthy' } };
    const olderFingerprint = `${'0'.repeat(32)} ${JSON.stringify(entity)}`;

    expect(diffEntityStates(new Map([['k', storedState(olderFingerprint)]]), [entity])).toEqual([]);
  });

  it('should report a CREATE, an UPDATE and a DELETE with the stored before and the listed after', () => {
    const before = svc('a', { health: 'Healthy' });
    const after = svc('a', { health: 'Degraded' });
    const state = stored(before, svc('gone'));

    const differences = diffEntityStates(state, [after, svc('new')]);

    expect(differences).toEqual([
      { action: 'UPDATE', entity: 'a', expected: state.get('a')!.raw, before, after },
      { action: 'CREATE', entity: 'new', expected: null, before: null, after: svc('new') },
      { action: 'DELETE', entity: 'gone', expected: state.get('gone')!.raw, before: svc('gone'), after: null },
    ]);
  });

  it('should not report again a deletion it reported, and report the entity listed again as created', () => {
    const state = new Map([
      ['gone', storedState(encodeDeletedState(1_000))],
      ['back', storedState(encodeDeletedState(1_000))],
    ]);

    expect(diffEntityStates(state, [svc('back')])).toEqual([
      { action: 'CREATE', entity: 'back', expected: state.get('back')!.raw, before: null, after: svc('back') },
    ]);
  });

  it('should count an entity listed twice once, as its last listing', () => {
    const differences = diffEntityStates(new Map(), [svc('a', { n: 1 }), svc('a', { n: 2 })]);

    expect(differences).toEqual([expect.objectContaining({ action: 'CREATE', entity: 'a', after: svc('a', { n: 2 }) })]);
  });

  it('should skip listed entities without an identifier', () => {
    expect(diffEntityStates(new Map(), [{ title: 'no id' }, { identifier: '' }])).toEqual([]);
  });
});

describe(expiredDeletions.name, () => {
  const state = new Map([
    ['old', storedState(encodeDeletedState(1_000))],
    ['recent', storedState(encodeDeletedState(5_000))],
    ['listed', storedState(encodeDeletedState(1_000))],
    ['unreadable', storedState('-+ x')],
    ['entity', storedState(encodeEntityState(svc('entity')))],
  ]);

  it('should pick the traces of deletions older than the window, but not one listed again, nor entities', () => {
    expect(expiredDeletions(state, [svc('listed')], 6_000, 2_000)).toEqual([
      { entity: 'old', expected: '-+ 1000' },
      { entity: 'unreadable', expected: '-+ x' },
    ]);
  });

  it('should keep every trace inside the window', () => {
    expect(expiredDeletions(state, [], 2_000, 2_000).map((trace) => trace.entity)).toEqual(['unreadable']);
  });
});

describe(reconcileEvent.name, () => {
  it('should build the Port changelog body Port would have sent, with source reconcile', () => {
    const now = '2026-03-01T12:00:00.000Z';
    const before = svc('a', { health: 'Healthy' });
    const after = svc('a', { health: 'Degraded' });

    const event = reconcileEvent('service', { action: 'UPDATE', entity: 'a', expected: 'x', before, after }, now);

    expect(event).toMatchObject({ source: 'reconcile', receivedAt: now, action: 'UPDATE', resourceType: 'entity', blueprint: 'service', entity: 'a' });
    expect(event.id).toMatch(/^evt_[0-9a-f]{32}$/);
    expect(event.body).toEqual({
      action: 'UPDATE',
      resourceType: 'entity',
      status: 'SUCCESS',
      trigger: { by: { orgId: 'reconcile' }, origin: 'RECONCILE', at: now },
      context: { blueprint: 'service', entity: 'a' },
      diff: { before, after },
    });
  });

  it('should give the same change at another time another id', () => {
    const difference = { action: 'DELETE' as const, entity: 'a', expected: 'x', before: svc('a'), after: null };

    expect(reconcileEvent('service', difference, '2026-03-01T12:00:00.000Z').id).not.toBe(
      reconcileEvent('service', difference, '2026-03-01T12:05:00.000Z').id,
    );
  });
});
