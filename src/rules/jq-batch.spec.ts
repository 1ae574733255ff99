import { exec } from '@port-labs/jq-node-bindings';
import { readSampleJson } from '../../test/support/port-samples';
import { JqBatch, JqBatchCompileError, JqOutcome, simplePath, withOverlay } from './jq-batch';
import { JqExpression } from './jq-expression';
import { JQ_EQUIVALENCE_CORPUS, jqEquivalenceContext } from './testing/jq-corpus';

function publicOutcome(context: object, source: string): JqOutcome {
  try {
    return { ok: true, value: exec(context, source, { throwOnError: true }) };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

function contextWithoutRule(): Record<string, unknown> {
  const { rule: _rule, ...context } = jqEquivalenceContext();
  return context;
}

const RULE = { rule: { id: 'rule-a', description: 'a rule' } };
const corpus = () => JQ_EQUIVALENCE_CORPUS.map((source) => JqExpression.unchecked(source));

describe(JqBatch.name, () => {
  describe('build', () => {
    it('should name every expression jq refuses, by group and position', () => {
      const groups = [
        { overlay: {}, expressions: [JqExpression.unchecked('.a'), JqExpression.unchecked('.a +')] },
        { overlay: {}, expressions: [JqExpression.unchecked('nosuch(1)')] },
      ];
      try {
        JqBatch.build(groups);
        throw new Error('expected a JqBatchCompileError');
      } catch (error) {
        expect(error).toBeInstanceOf(JqBatchCompileError);
        expect((error as JqBatchCompileError).failures.map(({ group, expression }) => [group, expression])).toEqual([[0, 1], [1, 0]]);
      }
    });

    it('should split a large batch into programs of about 100 expressions, at most 16, compiled one step each', () => {
      const expression = JqExpression.unchecked('.rule.id');
      const sized = (count: number) => Array.from({ length: count }, (_, index) => ({ overlay: { rule: { id: `r${index}` } }, expressions: [expression, JqExpression.unchecked('.a + 1')] }));
      const steps = JqBatch.buildSteps(sized(250));
      let yields = 0;
      let step = steps.next();
      for (; !step.done; step = steps.next()) yields += 1;
      expect(step.value.programCount).toBe(5);
      expect(yields).toBe(5);
      expect(step.value.combined).toBe(true);
      expect(JqBatch.build(sized(40)).programCount).toBe(1);
      // 1,700 expressions in groups of two: 16 programs, not 17 of 106.
      expect(JqBatch.build(sized(850)).programCount).toBe(16);
    });

    it('should name a refused expression in a later program, compiling alone only that program\'s expressions', () => {
      const groups = Array.from({ length: 250 }, (_, index) => ({ overlay: {}, expressions: [JqExpression.unchecked(index === 230 ? '.a +' : `.a + ${index}`)] }));
      const compileAlone = jest.spyOn(JqExpression, 'compile');
      try {
        expect(() => JqBatch.build(groups)).toThrow(JqBatchCompileError);
        expect(compileAlone).toHaveBeenCalledTimes(50);
      } finally {
        compileAlone.mockRestore();
      }
      try {
        JqBatch.build(groups);
      } catch (error) {
        expect((error as JqBatchCompileError).failures.map(({ group, expression }) => [group, expression])).toEqual([[230, 0]]);
      }
    });

    it('should combine the expressions into one program', () => {
      expect(JqBatch.build([{ overlay: RULE, expressions: corpus() }]).combined).toBe(true);
    });
  });

  describe('run', () => {
    const json = JSON.stringify(contextWithoutRule());
    const expected = JQ_EQUIVALENCE_CORPUS.map((source) => publicOutcome(jqEquivalenceContext(), source));

    it('should give, for every expression, what the public exec gives on the context plus the overlay', () => {
      const batch = JqBatch.build([{ overlay: { rule: { id: 'other' } }, expressions: [] }, { overlay: RULE, expressions: corpus() }]);
      expect(batch.run(json, [1])).toEqual([expected]);
    });

    it('should give the same when it has to run expressions one by one', () => {
      const batch = JqBatch.build([{ overlay: {}, expressions: [JqExpression.unchecked('halt')] }, { overlay: RULE, expressions: corpus() }]);
      expect(batch.run(json, [0, 1])).toEqual([[{ ok: true, value: undefined }], expected]);
    });

    it('should run only the active groups, in the order asked, each with its own overlay', () => {
      const groups = ['a', 'b', 'c', 'd', 'e'].map((id) => ({ overlay: { rule: { id } }, expressions: [JqExpression.unchecked('.rule.id')] }));
      const batch = JqBatch.build(groups);
      expect(batch.run(json, [4, 0, 2])).toEqual([[{ ok: true, value: 'e' }], [{ ok: true, value: 'a' }], [{ ok: true, value: 'c' }]]);
      expect(batch.run(json, [])).toEqual([]);
    });

    it('should pick the right group among many sharing a few jq definitions', () => {
      // 260 groups, some of several expressions, so jq definitions hold different numbers of groups.
      const groups = Array.from({ length: 260 }, (_, index) => {
        const expression = JqExpression.unchecked('.rule.id + ":" + (.entity.title | ascii_downcase)');
        return { overlay: { rule: { id: `r${index}` } }, expressions: index % 37 === 0 ? [expression, expression, expression] : [expression] };
      });
      const batch = JqBatch.build(groups);
      expect(batch.combined).toBe(true);
      const active = [259, 0, 99, 100, 101, 37, 38, 74, 200, 1, 258];
      expect(batch.run(json, active)).toEqual(
        active.map((index) => Array.from({ length: index % 37 === 0 ? 3 : 1 }, () => ({ ok: true, value: `r${index}:svc` }))),
      );
    });

    it('should give each group its own outcomes across programs, asked in any order, one program falling back alone', () => {
      // 300 groups in 3 programs; group 150 halts, so its program's groups run one by one.
      const groups = Array.from({ length: 300 }, (_, index) => ({
        overlay: { rule: { id: `r${index}` } },
        expressions: [JqExpression.unchecked(index === 150 ? 'halt' : '.rule.id + ":" + .entity.title'), JqExpression.unchecked(`.entity.title | length + ${index}`)],
      }));
      const batch = JqBatch.build(groups);
      expect(batch.programCount).toBe(6);
      const active = [299, 0, 150, 151, 49, 50, 250, 1, 100, 149];
      const runJson = jest.spyOn(JqExpression.prototype, 'runJson');
      try {
        expect(batch.run(json, active)).toEqual(
          active.map((index) => [index === 150 ? { ok: true, value: undefined } : { ok: true, value: `r${index}:Svc` }, { ok: true, value: 3 + index }]),
        );
        // Only the halting group's program (groups 150 and 151 of those asked) ran one by one.
        expect(runJson).toHaveBeenCalledTimes(4);
      } finally {
        runJson.mockRestore();
      }
    });

    it('should keep an error in one expression from affecting the others', () => {
      const expressions = ['error("first")', '.entity.title', '.entity.title | .x'].map((source) => JqExpression.unchecked(source));
      expect(JqBatch.build([{ overlay: {}, expressions }]).run(json, [0])).toEqual([
        [
          { ok: false, error: 'jq: error: first' },
          { ok: true, value: 'Svc' },
          { ok: false, error: 'jq: error: Cannot index string with string "x"' },
        ],
      ]);
    });
  });

  describe('simple paths, read in JS', () => {
    const SAMPLES = [
      'kafka-changelog-entity-update-vm-free_storage.json',
      'automation-event-entity-updated-service.json',
      'automation-triggerdata-entity-updated-service.json',
      'changelog-timer-expired-entity.json',
      'kafka-changelog-run-create-port-agent-fixture.json',
    ];
    const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

    // Every path into the sample, one step past each leaf (indexing strings, numbers, arrays,
    // booleans and null), a missing key at each level, and the overlay's keys.
    function pathsOf(value: unknown, prefix = '', depth = 0): string[] {
      const paths = [`${prefix}.nosuchkey`];
      if (depth > 6) return paths;
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
        for (const [key, child] of Object.entries(value)) {
          if (!KEY.test(key)) continue;
          paths.push(`${prefix}.${key}`, ...pathsOf(child, `${prefix}.${key}`, depth + 1));
        }
      }
      return paths;
    }

    it.each(SAMPLES)('should give what jq gives for every path into %s', (name) => {
      const context = { ...(readSampleJson(name) as Record<string, unknown>), rule: { id: 'shadowed' } };
      const sources = [...pathsOf(context), '.rule.id', '.rule.description.x', '  .rule  '];
      const expressions = sources.map((source) => JqExpression.unchecked(source));
      expect(sources.every((source) => simplePath(source))).toBe(true);
      const json = JSON.stringify(context);

      const inJs = JqBatch.build([{ overlay: RULE, expressions }]).run(json, [0])[0];
      // `empty` is not a simple path: the whole group goes through jq.
      const inJq = JqBatch.build([{ overlay: RULE, expressions: [...expressions, JqExpression.unchecked('empty')] }]).run(json, [0])[0];

      expect(inJs).toEqual(inJq.slice(0, -1));
      expect(inJs.some((outcome) => !outcome.ok)).toBe(true);
      expect(inJs.filter((outcome) => outcome.ok && outcome.value === null).length).toBeGreaterThan(0);
    });

    it.each([
      ['.a', ['a']],
      [' .entity.properties.cpu_2 ', ['entity', 'properties', 'cpu_2']],
      ['.a?', undefined],
      ['.a | .b', undefined],
      ['.["a"]', undefined],
      ['.a.b[0]', undefined],
      ['.', undefined],
      ['.2a', undefined],
      ['$ENV.a', undefined],
    ])('should take %p as a simple path: %p', (source, keys) => {
      expect(simplePath(source)).toEqual(keys);
    });

    it('should hand back copies, so a caller cannot change the context', () => {
      const context = { entity: { properties: { tags: ['a'] } } };
      const [[outcome]] = JqBatch.build([{ overlay: {}, expressions: [JqExpression.unchecked('.entity.properties')] }]).run(
        { value: JSON.stringify(context), object: context },
        [0],
      );
      (outcome as { value: { tags: string[] } }).value.tags.push('b');
      expect(context.entity.properties.tags).toEqual(['a']);
    });
  });

  describe('withOverlay', () => {
    it.each([
      ['{"a":1}', { rule: { id: 'r' } }, '{"a":1,"rule":{"id":"r"}}'],
      ['{}', { rule: 1 }, '{"rule":1}'],
      ['{"a":1}', {}, '{"a":1}'],
    ])('should add the keys to %s', (json, overlay, expected) => {
      expect(withOverlay(json, overlay)).toBe(expected);
      expect(JSON.parse(withOverlay(json, overlay))).toEqual({ ...JSON.parse(json), ...overlay });
    });
  });
});
