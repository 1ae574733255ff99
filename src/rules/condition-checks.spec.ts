import type { EntitySnapshot } from '../changes/change-event';
import { valueAt, whyNot } from './condition-checks';
import type { JsCondition } from './rule-compiler';
import { deploymentConfigEvent, loadSample } from '../../test/factories/rule-test-events';

type Sides = [EntitySnapshot | null | undefined, EntitySnapshot | null | undefined];

function changed(path: string, from?: unknown[], to?: unknown[]): JsCondition {
  return { kind: 'changed', field: 'when[0].changed', path, segments: path.replace(/^\./, '').split('.'), from, to };
}

function crosses(path: string, threshold: { above?: number; below?: number }): JsCondition {
  return { kind: 'crosses', field: 'when[0].crosses', path, segments: path.split('.'), ...threshold };
}

function sidesOf(file: string): Sides {
  const body = loadSample(file);
  return [body.diff?.before, body.diff?.after];
}

const degraded = (): Sides => {
  const event = deploymentConfigEvent({ healthStatus: 'Degraded', cpuUtil: 85 });
  return [event.body.diff?.before, event.body.diff?.after];
};
const vm = () => sidesOf('kafka-changelog-entity-update-vm-free_storage.json');
const service = () => sidesOf('automation-event-entity-updated-service.json');
const props = (before: Record<string, unknown>, after: Record<string, unknown>): Sides => [{ properties: before }, { properties: after }];

describe('condition-checks', () => {
  describe('whyNot', () => {
    const cases: [string, JsCondition, () => Sides, string | undefined][] = [
      ['deploymentConfig healthStatus changed', changed('properties.healthStatus'), degraded, undefined],
      ['with a leading dot', changed('.properties.healthStatus'), degraded, undefined],
      ['from Healthy to Degraded or Crashed', changed('properties.healthStatus', ['Healthy'], ['Degraded', 'Crashed']), degraded, undefined],
      ['to Crashed only', changed('properties.healthStatus', undefined, ['Crashed']), degraded, 'properties.healthStatus changed to "Degraded", not to "Crashed"'],
      ['from Degraded only', changed('properties.healthStatus', ['Degraded']), degraded, 'properties.healthStatus changed from "Healthy", not from "Degraded"'],
      ['an unchanged property', changed('properties.memoryUtil'), degraded, 'properties.memoryUtil did not change'],
      ['cpuUtil 25 -> 85 crosses above 80', crosses('properties.cpuUtil', { above: 80 }), degraded, undefined],
      ['cpuUtil 25 -> 85 does not cross below 80', crosses('properties.cpuUtil', { below: 80 }), degraded, 'properties.cpuUtil did not cross below 80 (25 -> 85)'],
      ['cpuUtil 25 -> 85 does not cross above 90', crosses('properties.cpuUtil', { above: 90 }), degraded, 'properties.cpuUtil did not cross above 90 (25 -> 85)'],
      ['vm free_storage 6 -> 0.5 crosses below 1', crosses('properties.free_storage', { below: 1 }), vm, undefined],
      ['vm free_storage changed', changed('properties.free_storage', [6], [0.5]), vm, undefined],
      ['vm region unchanged', changed('properties.region'), vm, 'properties.region did not change'],
      ['service title changed', changed('title'), service, undefined],
      ['service language TypeScript -> Python', changed('properties.language', ['TypeScript'], ['Python']), service, undefined],
      ['service icon null -> Microservice', changed('icon', [null]), service, undefined],
      ['service team unchanged (arrays compared whole)', changed('team'), service, 'team did not change'],
      ['service relation unchanged', changed('relations.using'), service, 'relations.using did not change'],
      ['a missing path on both sides', changed('properties.nope.deeper'), service, 'properties.nope.deeper did not change'],
      ['a value added (from null)', changed('properties.a', [null], [1]), () => props({}, { a: 1 }), undefined],
      ['missing and null are the same', changed('properties.a'), () => props({}, { a: null }), 'properties.a did not change'],
      ['a type change 80 -> "80"', changed('properties.cpu'), () => props({ cpu: 80 }, { cpu: '80' }), undefined],
      ['numbers written as text cross', crosses('properties.cpu', { above: 80 }), () => props({ cpu: '25' }, { cpu: ' 8.5e1 ' }), undefined],
      ['hexadecimal text is not a number', crosses('properties.cpu', { above: 80 }), () => props({ cpu: '0x10' }, { cpu: '0x100' }), 'properties.cpu did not cross above 80 ("0x10" -> "0x100")'],
      ['binary text is not a number', crosses('properties.cpu', { above: 80 }), () => props({ cpu: '0b1' }, { cpu: '0b1111111' }), 'properties.cpu did not cross above 80 ("0b1" -> "0b1111111")'],
      ['a nested path', changed('properties.config.replicas', [2], [3]), () => props({ config: { replicas: 2 } }, { config: { replicas: 3 } }), undefined],
      ['a list value in from/to', changed('properties.tags', [['a']]), () => props({ tags: ['a'] }, { tags: ['a', 'b'] }), undefined],
      ['numeric strings count as numbers', crosses('properties.n', { above: 80 }), () => props({ n: '80' }, { n: '80.5' }), undefined],
      ['exactly at the threshold before', crosses('properties.n', { above: 80 }), () => props({ n: 80 }, { n: 81 }), undefined],
      ['exactly at the threshold after', crosses('properties.n', { above: 80 }), () => props({ n: 79 }, { n: 80 }), 'properties.n did not cross above 80 (79 -> 80)'],
      ['below, from the threshold', crosses('properties.n', { below: 10 }), () => props({ n: 10 }, { n: 9 }), undefined],
      ['a missing side', crosses('properties.n', { above: 80 }), () => props({}, { n: 90 }), 'properties.n did not cross above 80 (null -> 90)'],
      ['a non-numeric side', crosses('properties.n', { above: 80 }), () => props({ n: 'low' }, { n: 90 }), 'properties.n did not cross above 80 ("low" -> 90)'],
      ['a CREATE (no before)', crosses('properties.n', { above: 80 }), () => [null, { properties: { n: 90 } }], 'properties.n did not cross above 80 (null -> 90)'],
      ['a change on CREATE', changed('properties.n'), () => [null, { properties: { n: 90 } }], undefined],
      ['a change on DELETE', changed('properties.n', undefined, [null]), () => [{ properties: { n: 90 } }, null], undefined],
    ];

    it.each(cases)('should check %s', (_name, condition, sides, expected) => {
      const [before, after] = sides();
      expect(whyNot(condition, before, after)).toBe(expected);
    });
  });

  describe('valueAt', () => {
    it.each([
      [{ a: { b: 1 } }, ['a', 'b'], 1],
      [{ a: { b: 1 } }, ['a', 'c'], null],
      [{ a: 'text' }, ['a', 'length'], null],
      [null, ['a'], null],
      [{ a: [1, 2] }, ['a'], [1, 2]],
    ])('should read %j at %j', (snapshot, segments, expected) => {
      expect(valueAt(snapshot, segments)).toEqual(expected);
    });
  });
});
