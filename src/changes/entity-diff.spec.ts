import type { Change, EntitySnapshot, PortChangeBody } from './change-event';
import { changesFor, diffEntities } from './entity-diff';
import { deploymentConfigEvent, eventFromBody, loadSample } from '../../test/factories/rule-test-events';

type Snapshot = EntitySnapshot | null | undefined;

describe('entity-diff', () => {
  describe('diffEntities', () => {
    const realSamples: [string, string, Change[]][] = [
      ['kafka-changelog-entity-update-vm-free_storage.json', 'only free_storage', [{ path: 'properties.free_storage', before: 6, after: 0.5 }]],
      [
        'automation-event-entity-updated-service.json',
        'title, icon and two properties, sorted by path',
        [
          { path: 'icon', before: null, after: 'Microservice' },
          { path: 'properties.language', before: 'TypeScript', after: 'Python' },
          { path: 'properties.latestVersion', before: '12.8.2', after: '12.8.22' },
          { path: 'title', before: 'Example service', after: 'Example service renamed' },
        ],
      ],
    ];

    it.each(realSamples)('should report exactly the changes of %s (%s)', (file, _what, expected) => {
      const body = loadSample(file);
      expect(diffEntities(body.diff?.before, body.diff?.after)).toEqual(expected);
    });

    const crafted: [string, Snapshot, Snapshot, Change[]][] = [
      ['equal states', { title: 'a', properties: { x: [1, { y: 2 }] } }, { title: 'a', properties: { x: [1, { y: 2 }] } }, []],
      ['both sides missing', null, undefined, []],
      [
        'a CREATE: every set field from null',
        null,
        { title: 'T', icon: null, team: ['a'], properties: { n: 1, unset: null }, relations: { r: 'x' } },
        [
          { path: 'properties.n', before: null, after: 1 },
          { path: 'relations.r', before: null, after: 'x' },
          { path: 'team', before: null, after: ['a'] },
          { path: 'title', before: null, after: 'T' },
        ],
      ],
      ['a DELETE: every set field to null', { title: 'T', properties: { n: 1 } }, null, [
        { path: 'properties.n', before: 1, after: null },
        { path: 'title', before: 'T', after: null },
      ]],
      ['a property missing on one side', { properties: { a: 1, b: 2 } }, { properties: { a: 1 } }, [{ path: 'properties.b', before: 2, after: null }]],
      ['a property added', { properties: {} }, { properties: { c: false } }, [{ path: 'properties.c', before: null, after: false }]],
      ['a missing property and a null one (the same)', { properties: {} }, { properties: { a: null } }, []],
      ['a type change 80 -> "80"', { properties: { cpu: 80 } }, { properties: { cpu: '80' } }, [{ path: 'properties.cpu', before: 80, after: '80' }]],
      ['nested objects flattened', { properties: { config: { replicas: 2, image: { tag: 'v1' } } } }, { properties: { config: { replicas: 3, image: { tag: 'v2' } } } }, [
        { path: 'properties.config.image.tag', before: 'v1', after: 'v2' },
        { path: 'properties.config.replicas', before: 2, after: 3 },
      ]],
      ['an object replaced by a scalar', { properties: { config: { a: 1 } } }, { properties: { config: 'none' } }, [
        { path: 'properties.config', before: { a: 1 }, after: 'none' },
      ]],
      ['arrays compared whole', { properties: { tags: ['a', 'b'] } }, { properties: { tags: ['b', 'a'] } }, [
        { path: 'properties.tags', before: ['a', 'b'], after: ['b', 'a'] },
      ]],
      ['equal arrays of objects', { properties: { l: [{ a: 1, b: 2 }] } }, { properties: { l: [{ b: 2, a: 1 }] } }, []],
      ['relation arrays compared whole', { relations: { using: ['a', 'b'], owner: 'x' } }, { relations: { using: ['a', 'b', 'c'], owner: 'x' } }, [
        { path: 'relations.using', before: ['a', 'b'], after: ['a', 'b', 'c'] },
      ]],
      ['a relation cleared', { relations: { using: 'svc' } }, { relations: { using: null } }, [{ path: 'relations.using', before: 'svc', after: null }]],
      ['fields outside the compared set ignored', { identifier: 'a', updatedAt: '1', properties: {} }, { identifier: 'b', updatedAt: '2', properties: {} }, []],
    ];

    it.each(crafted)('should diff %s', (_name, before, after, expected) => {
      expect(diffEntities(before, after)).toEqual(expected);
    });
  });

  describe('changesFor', () => {
    it('should diff an entity event', () => {
      const event = deploymentConfigEvent({ healthStatus: 'Degraded', cpuUtil: 85 });
      expect(changesFor(event).map((change) => change.path)).toEqual(['properties.cpuUtil', 'properties.healthStatus']);
    });

    it.each([
      ['a run event', 'kafka-changelog-run-create-port-agent-fixture.json'],
      ['a TIMER_EXPIRED event (no diff)', 'changelog-timer-expired-entity.json'],
    ])('should return no changes for %s', (_name, file) => {
      expect(changesFor(eventFromBody(loadSample(file)))).toEqual([]);
    });

    it('should return no changes for a blueprint event', () => {
      const body: PortChangeBody = { action: 'UPDATE', resourceType: 'blueprint', context: {}, diff: { before: { title: 'a' }, after: { title: 'b' } } };
      expect(changesFor(eventFromBody(body))).toEqual([]);
    });
  });
});
