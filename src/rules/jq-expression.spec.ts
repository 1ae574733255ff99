import { exec } from '@port-labs/jq-node-bindings';
import { formatFilter, isJqTruthy, JqCompileError, JqExpression, JqRuntimeError } from './jq-expression';
import { JQ_EQUIVALENCE_CORPUS, jqEquivalenceContext } from './testing/jq-corpus';

function publicExec(context: object, source: string): { value?: unknown; error?: string } {
  try {
    return { value: exec(context, source, { throwOnError: true }) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

function ours(context: object, source: string): { value?: unknown; error?: string } {
  try {
    return { value: JqExpression.compile(source).run(context) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

describe(JqExpression.name, () => {
  describe('compile', () => {
    it('should refuse invalid jq with a JqCompileError', () => {
      expect(() => JqExpression.compile('.a +')).toThrow(JqCompileError);
      expect(() => JqExpression.compile('.a | nosuchfunction')).toThrow(/compile error/);
    });

    it('should accept an expression that only fails at run time', () => {
      expect(() => JqExpression.compile('error("only on real input")')).not.toThrow();
    });

    it('should check, without running, an expression that never ends', () => {
      expect(() => JqExpression.compile('def f: f; f')).not.toThrow();
      expect(() => JqExpression.compile('last(range(1e12))')).not.toThrow();
    });

    it('should refuse module directives, which would read files', () => {
      expect(() => JqExpression.compile('import "x" as x; .')).toThrow(JqCompileError);
    });
  });

  describe('run', () => {
    it.each(JQ_EQUIVALENCE_CORPUS)('should give what the public exec gives for %s', (source) => {
      const context = jqEquivalenceContext();
      expect(ours(context, source)).toEqual(publicExec(context, source));
    });

    it('should run the same on a context serialised once', () => {
      const expression = JqExpression.compile('.entity.properties.cpuUtil');
      const json = JSON.stringify(jqEquivalenceContext());
      expect(expression.runJson(json)).toBe(expression.run(jqEquivalenceContext()));
    });

    it('should throw a JqRuntimeError naming the jq error', () => {
      expect(() => JqExpression.compile('.entity.title | .x').run(jqEquivalenceContext())).toThrow(JqRuntimeError);
    });

    it('should never see the process environment', () => {
      process.env.JQ_SPEC_SECRET = 'do-not-leak';
      expect(JqExpression.compile('[env.JQ_SPEC_SECRET, $ENV.JQ_SPEC_SECRET]').run({})).toEqual([null, null]);
      delete process.env.JQ_SPEC_SECRET;
    });

    it('should pass the input through `debug` instead of crashing the process', () => {
      expect(JqExpression.compile('.a | debug').run({ a: 1 })).toBe(1);
    });

    it('should make `input` an error and `inputs` empty instead of crashing the process', () => {
      expect(() => JqExpression.compile('input').run({})).toThrow(/input is not available/);
      expect(JqExpression.compile('[inputs]').run({})).toEqual([]);
    });

    // Each aborts the process (an assertion in jq 1.6) or loops for ever without the guards: a
    // failing case here kills the test run or hangs it.
    it.each([
      ['todate of a timestamp in ns', '.n | todate', { n: 1.7e18 }, /converting number of seconds/],
      ['todate of -1e20', '.n | todateiso8601', { n: -1e20 }, /converting number of seconds/],
      ['strftime of a number beyond gmtime', '.n | strftime("%Y")', { n: 1e300 }, /converting number of seconds/],
      ['strflocaltime of a number beyond localtime', '.n | strflocaltime("%Y")', { n: 1e20 }, /converting number of seconds/],
      ['strftime with a format that is not a string', '.n | strftime(1)', { n: 1 }, /requires a string format/],
      ['a slice at a NaN from the data', '.s as $s | "abc" | .[($s | tonumber):]', { s: 'NaN' }, /not a number \(NaN\)/],
      ['gsub with a pattern that matches the empty string', '.t | gsub("[^a-z0-9]*"; "")', { t: 'My Service' }, /matches the empty string/],
      ['gsub with an empty pattern', '.t | gsub(""; "x")', { t: 'aaa' }, /matches the empty string/],
      ['scan with a pattern that matches the empty string', '.t | [scan("b*")]', { t: 'abc' }, /matches the empty string/],
      ['splits with a pattern that matches the empty string', '.t | [splits("\\\\s*")]', { t: 'a b' }, /matches the empty string/],
      ['a global match empty only at a later place', '.t | [match("(?=b)"; "g")]', { t: 'ab' }, /matches the empty string/],
    ])('should make %s an error instead of an abort or a hang', (_name, source, context, error) => {
      expect(() => JqExpression.compile(source).run(context)).toThrow(error);
    });

    it('should run a path expression again after it stopped at its first output', () => {
      const paths = JqExpression.compile('paths');
      expect(paths.run({ a: 1, b: 2 })).toEqual(['a']);
      // The binding keeps the program; without the array around it, this second start aborted.
      expect(paths.run({ c: 3 })).toEqual(['c']);
      expect(JqExpression.compile('path(..)').run([1])).toEqual([]);
    });

    it('should make a bad `implode` an error instead of an abort', () => {
      expect(() => JqExpression.compile('[-1, null] | implode').run({})).toThrow(/code points/);
      expect(JqExpression.compile('[104, 105] | implode').run({})).toBe('hi');
    });
  });

  describe('formatFilter', () => {
    it('should turn single quotes into double quotes and disable env, as Port does', () => {
      expect(formatFilter(".a == 'x'")).toBe('def env: {}; {} as $ENV | .a == "x"');
    });
  });

  describe('isJqTruthy', () => {
    it.each([
      [false, false], [null, false], [undefined, false], [0, true], ['', true], [[], true], [{}, true], [true, true],
    ])('should treat %p as %p', (value, expected) => {
      expect(isJqTruthy(value)).toBe(expected);
    });
  });
});
