import { readSampleJson } from '../../test/support/port-samples';
import { canonicalJson, dtoErrors, parsePortBody, ParseResult, passesDto } from './change-event.parser';
import { ChangeEvent } from './change-event';
import { eventContext } from '../rules/event-context';
import { runJqProgram } from '../rules/jq-expression';

type Json = Record<string, unknown>;

const meta = { source: 'webhook' as const, receivedAt: '2026-11-22T10:00:00.000Z' };
const sample = (name: string) => readSampleJson(name) as Json;
const VM_UPDATE = 'kafka-changelog-entity-update-vm-free_storage.json';

function parsed(raw: unknown): ChangeEvent {
  const result: ParseResult = parsePortBody(raw, meta);
  if (!result.ok) throw new Error(`expected a valid event, got ${JSON.stringify(result.errors)}`);
  return result.event;
}

/** Rebuilds every object with its keys in reverse order, as a re-serialising relay might. */
function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reverseKeys(v)]));
}

/** Rewrites a changelog body into the Automation spelling of the same change. */
function automationSpelling(body: Json): Json {
  const { blueprint, entity, ...context } = body.context as Json;
  return { ...body, context: { ...context, blueprintIdentifier: blueprint, entityIdentifier: entity } };
}

describe(parsePortBody.name, () => {
  describe('accepted samples', () => {
    it.each([
      [VM_UPDATE, 'vm', 'storage-example', 'UPDATE', 'entity'],
      ['kafka-changelog-run-create-port-agent-fixture.json', 'Service', null, 'CREATE', 'run'],
      ['changelog-timer-expired-entity.json', 'timerExample', 'entityIdentifier', 'TIMER_EXPIRED', 'entity'],
      ['changelog-timer-expired-entity-archive-variant.json', 'timerExample', 'e_mtLQRs6sqQOaz7QP', 'TIMER_EXPIRED', 'entity'],
      ['automation-event-entity-updated-service.json', 'service', 'example-service-identifier', 'UPDATE', 'entity'],
      ['automation-triggerdata-entity-updated-service.json', 'service', 'example-service-identifier', 'UPDATE', 'entity'],
      // Its context holds the action only: blueprint and entity come from the run (diff.after).
      ['automation-triggerdata-run-updated.json', 'blueprintIdentifier', 'entityIdentifier', 'UPDATE', 'run'],
    ])('should normalise %s', (name, blueprint, entity, action, resourceType) => {
      const event = parsed(sample(name));

      expect(event).toMatchObject({ blueprint, entity, action, resourceType, ...meta });
      expect(event.id).toMatch(/^evt_[0-9a-f]{32}$/);
      expect(event.body.context).toMatchObject({ blueprint, entity: entity ?? null });
    });

    it('should keep the original action spelling and the changelogDestination in the body', () => {
      const event = parsed(sample('kafka-changelog-run-create-port-agent-fixture.json'));

      expect(event.body.action).toBe('Create');
      expect(event.body.changelogDestination).toEqual({ type: 'WEBHOOK', agent: true, url: 'http://localhost:80/api/test' });
    });

    it('should keep unknown fields and the Automation context keys when filling blueprint and entity', () => {
      const raw = sample('changelog-timer-expired-entity-archive-variant.json');
      const event = parsed(raw);

      expect(event.body).toEqual({ ...raw, context: { ...(raw.context as Json), blueprint: 'timerExample', entity: 'e_mtLQRs6sqQOaz7QP' } });
      expect(raw.context).not.toHaveProperty('blueprint');
    });

    it('should unwrap the Automation trigger data to its event', () => {
      const envelope = sample('automation-triggerdata-entity-updated-service.json');

      expect(parsed(envelope).body).toEqual(parsed(envelope.event).body);
      expect(parsed(envelope).body.trigger).toMatchObject({ origin: 'UI', at: '2024-06-09T12:28:18.477Z' });
    });

    // The runs topic is not the changelog, but its message fits the changelog shape: it is accepted
    // as a `run` change without a diff, action upper-cased, and `payload` kept as an unknown field.
    it('should accept a legacy runs message as a run change without a diff', () => {
      const raw = sample('kafka-runs-message-create_vm-legacy.json');
      const event = parsed(raw);

      expect(event).toMatchObject({ action: 'CREATE_VM', resourceType: 'run', blueprint: 'vm', entity: null });
      expect(event.body.diff).toBeUndefined();
      expect(event.body.payload).toEqual(raw.payload);
    });
  });

  describe('event id', () => {
    const id = (raw: unknown) => parsed(raw).id;
    const vm = () => sample(VM_UPDATE);

    it('should be the same for the Automation envelope and the bare event', () => {
      expect(id(sample('automation-triggerdata-entity-updated-service.json'))).toBe(id(sample('automation-event-entity-updated-service.json')));
    });

    it.each([VM_UPDATE, 'kafka-changelog-run-create-port-agent-fixture.json', 'changelog-timer-expired-entity.json'])(
      'should not change when %s is wrapped in {event}',
      (name) => expect(id({ event: sample(name) })).toBe(id(sample(name))),
    );

    it('should not change when a relay re-serialises with another key order and whitespace', () => {
      expect(id(JSON.parse(JSON.stringify(reverseKeys(vm()), null, 4)))).toBe(id(vm()));
    });

    it('should not change between the changelog and the Automation spelling of the context', () => {
      expect(id(automationSpelling(vm()))).toBe(id(vm()));
    });

    it('should not change with the action case or fields outside the identity', () => {
      expect(id({ ...vm(), action: 'update', status: 'FAILURE', changelogDestination: { type: 'KAFKA' } })).toBe(id(vm()));
    });

    it.each([
      ['trigger.at', (b: Json) => ({ ...b, trigger: { ...(b.trigger as Json), at: '2022-07-15T16:44:57.288Z' } })],
      ['diff.after', (b: Json) => ({ ...b, diff: { ...(b.diff as Json), after: null } })],
      ['context.entity', (b: Json) => ({ ...b, context: { ...(b.context as Json), entity: 'other' } })],
      ['action', (b: Json) => ({ ...b, action: 'DELETE' })],
    ])('should differ when %s differs', (_field, change) => {
      expect(id(change(vm()))).not.toBe(id(vm()));
    });
  });

  describe('invalid bodies', () => {
    const valid = (): Json => ({ action: 'UPDATE', resourceType: 'entity', context: { blueprint: 'vm', entity: 'e1' } });
    const without = (key: string) => Object.fromEntries(Object.entries(valid()).filter(([k]) => k !== key));

    it.each<[string, unknown, string]>([
      ['missing action', without('action'), 'action'],
      ['action not a string', { ...valid(), action: 42 }, 'action'],
      ['action empty', { ...valid(), action: '' }, 'action'],
      ['missing resourceType', without('resourceType'), 'resourceType'],
      ['missing context', without('context'), 'context'],
      ['context an array', { ...valid(), context: ['vm'] }, 'context'],
      ['context.blueprint missing', { ...valid(), context: { entity: 'e1' } }, 'context.blueprint'],
      ['context.blueprint not a string', { ...valid(), context: { blueprint: 7 } }, 'context.blueprint'],
      ['context.entity not a string', { ...valid(), context: { blueprint: 'vm', entity: {} } }, 'context.entity'],
      ['diff an array', { ...valid(), diff: [] }, 'diff'],
      ['diff.before a string', { ...valid(), diff: { before: 'x', after: null } }, 'diff.before'],
      ['trigger.at not a date', { ...valid(), trigger: { at: 'yesterday' } }, 'trigger.at'],
      ['trigger.by a string', { ...valid(), trigger: { by: 'me' } }, 'trigger.by'],
      ['an invalid event in the envelope', { event: { ...valid(), context: {} } }, 'event.context.blueprint'],
      ['body an array', [valid()], 'body'],
      ['body null', null, 'body'],
      ['body a string', 'UPDATE', 'body'],
    ])('should report %s', (_name, raw, field) => {
      const result = parsePortBody(raw, meta);

      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.errors.map((e) => e.field)).toEqual([field]);
      expect(result.errors[0].message).toEqual(expect.any(String));
    });

    it('should report every invalid field at once', () => {
      const result = parsePortBody({ action: 1, context: { entity: 2 }, diff: { after: 'x' } }, meta);

      expect(result.ok ? [] : result.errors.map((e) => e.field).sort()).toEqual(
        ['action', 'context.blueprint', 'context.entity', 'diff.after', 'resourceType'],
      );
    });

    const TOO_DEEP = 'body is nested too deeply (more than 125 levels of objects and arrays, which jq could not read)';
    const nested = (levels: number, wrap: (inner: unknown) => unknown): unknown => {
      let value: unknown = 'leaf';
      for (let i = 0; i < levels; i++) value = wrap(value);
      return value;
    };
    // The body, trigger and by are three levels: `by.deep` adds the rest.
    it.each([
      ['objects, at the limit', 122, (inner: unknown) => ({ a: inner }), true],
      ['objects, one level past it', 123, (inner: unknown) => ({ a: inner }), false],
      ['arrays, at the limit', 122, (inner: unknown) => [inner], true],
      ['arrays, one level past it', 123, (inner: unknown) => [1, inner], false],
    ])('should count nesting in any field, %s (125 levels)', (_name, levels, wrap, ok) => {
      const body = { ...valid(), trigger: { at: '2026-11-22T10:00:00.000Z', by: { deep: nested(levels, wrap) } } };

      const result = parsePortBody(body, meta);

      expect(result.ok).toBe(ok);
      if (!result.ok) expect(result.errors).toEqual([{ field: 'body', message: TOO_DEEP }]);
      // What is accepted can be recorded, and jq can read the rules' context made of it.
      else expect(() => runJqProgram(JSON.stringify(eventContext(result.event, [])), '.')).not.toThrow();
    });

    it('should answer with an error, not throw, when the body is nested too deeply', () => {
      let deep: unknown = {};
      for (let i = 0; i < 100_000; i++) deep = { a: deep };

      expect(parsePortBody({ ...valid(), diff: { before: deep, after: null } }, meta)).toEqual({
        ok: false,
        errors: [{ field: 'body', message: TOO_DEEP }],
      });
    });
  });
});

describe(passesDto.name, () => {
  // Every kind of value a JSON body can hold at a field, plus the strings the DTO treats specially.
  const VALUES: unknown[] = [undefined, null, '', 'x', 'UPDATE', 0, 1.5, true, false, [], ['a'], {}, { a: 1 },
    '2026-11-22T10:00:00.000Z', '2026-11-22T10:00:00Z', '2026-11-22', '2026-13-01T00:00:00Z', 'not a date', '20261122T100000Z'];
  const FIELDS = ['action', 'resourceType', 'status', 'trigger', 'trigger.at', 'trigger.by', 'trigger.origin', 'context',
    'context.blueprint', 'context.entity', 'context.runId', 'diff', 'diff.before', 'diff.after', 'somethingElse'];
  const BASES = ['kafka-changelog-entity-update-vm-free_storage.json', 'changelog-timer-expired-entity.json', 'kafka-changelog-run-create-port-agent-fixture.json'];

  const withField = (base: Json, path: string, value: unknown): Json => {
    const copy = JSON.parse(JSON.stringify(base)) as Json;
    const keys = path.split('.');
    let target = copy as Record<string, unknown>;
    for (const key of keys.slice(0, -1)) {
      if (typeof target[key] !== 'object' || target[key] === null || Array.isArray(target[key])) target[key] = {};
      target = target[key] as Record<string, unknown>;
    }
    if (value === undefined) delete target[keys[keys.length - 1]];
    else target[keys[keys.length - 1]] = value;
    return copy;
  };

  it.each(BASES)('should give the DTO\'s verdict for every field of %s set to every kind of value', (name) => {
    const base = sample(name);
    expect(passesDto(base)).toBe(true);
    let disagreements: string[] = [];
    let refused = 0;
    for (const path of FIELDS) {
      for (const value of VALUES) {
        const body = withField(base, path, value);
        const dtoAccepts = dtoErrors(body).length === 0;
        if (!dtoAccepts) refused += 1;
        if (passesDto(body) !== dtoAccepts) disagreements = [...disagreements, `${path} = ${JSON.stringify(value)}`];
      }
    }
    expect(disagreements).toEqual([]);
    expect(refused).toBeGreaterThan(50);
  });
});

describe(canonicalJson.name, () => {
  it('should sort keys at every depth and drop undefined members like JSON.stringify', () => {
    expect(canonicalJson({ b: [{ z: 1, y: undefined }, undefined], a: 'x' })).toBe('{"a":"x","b":[{"z":1},null]}');
  });

  it('should keep a parsed __proto__ key as data', () => {
    expect(canonicalJson(JSON.parse('{"__proto__":{"x":1},"a":2}'))).toBe('{"__proto__":{"x":1},"a":2}');
  });

  it.each([
    ['nested objects in arrays', { z: [{ b: 1, a: [{ d: null, c: true }] }], y: 'é"\\' }, '{"y":"é\\"\\\\","z":[{"a":[{"c":true,"d":null}],"b":1}]}'],
    ['integer-like keys first, as JS orders them', { b: 1, 10: 2, 2: 3 }, '{"2":3,"10":2,"b":1}'],
    ['a value with toJSON, as JSON.stringify calls it', { at: new Date(0) }, '{"at":"1970-01-01T00:00:00.000Z"}'],
    ['primitives and null', null, 'null'],
    ['undefined', undefined, 'null'],
  ])('should serialise %s', (_name, value, expected) => {
    expect(canonicalJson(value)).toBe(expected);
  });

  it('should not depend on the order of keys at any depth', () => {
    expect(canonicalJson(reverseKeys(sample(VM_UPDATE)))).toBe(canonicalJson(sample(VM_UPDATE)));
  });
});

describe('event ids', () => {
  // Ids must not change between versions: a redelivery after an upgrade is still a duplicate.
  it.each([
    [VM_UPDATE, 'evt_20370e4bc40c21982e632352962cb279'],
    ['changelog-timer-expired-entity.json', 'evt_78ccaf4bc52f08d0c118e0ae66f8739d'],
    ['automation-event-entity-updated-service.json', 'evt_decb339b643af285192d84adebcdbe90'],
  ])('should derive the same id as before for %s', (file, id) => {
    expect(parsed(sample(file)).id).toBe(id);
  });
});
