import { exec } from '@port-labs/jq-node-bindings';
import { JqBatch, JqBatchCompileError, JqOutcome, withOverlay } from './jq-batch';
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
