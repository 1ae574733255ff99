import { dirname } from 'node:path';

interface NativeJq {
  /** `{}` when the program outputs nothing, null when `json` does not parse; throws jq's errors. */
  exec(json: string, filter: string): { value?: unknown } | null;
}

// The binding's own `exec` re-stringifies its input on every call; going to the native side lets
// one JSON string serve every expression of an event. Loaded the way the package loads it.
const packageRoot = dirname(require.resolve('@port-labs/jq-node-bindings/package.json'));
const nativeJq: NativeJq = require(require.resolve('bindings', { paths: [packageRoot] }))({
  bindings: 'jq-node-bindings',
  module_root: packageRoot,
});

// jq 1.6 as bound by Port kills the whole process on `debug` and `input` (callbacks the binding
// never sets) and on `implode` of anything but valid code points. These definitions shadow them
// with harmless equivalents; `stderr` is shadowed too so event data never reaches our logs that way.
export const JQ_CRASH_GUARDS =
  'def debug: .; def stderr: .; def input: error("input is not available"); def inputs: empty; ' +
  'def __cr_implode: implode; ' +
  'def implode: if type == "array" and all(.[]; type == "number" and . >= 0 and . <= 1114111) ' +
  'then __cr_implode else error("implode input must be an array of code points") end; ';

/** jq refused the expression itself. */
export class JqCompileError extends Error {
  override name = 'JqCompileError';
}

/** The expression failed on this input. */
export class JqRuntimeError extends Error {
  override name = 'JqRuntimeError';
}

/**
 * Port's `formatFilter` (jq-node-bindings lib/jq.js) with env access disabled, as Port's own
 * `exec` calls it: single-quoted strings become double-quoted and `env`/`$ENV` are empty.
 */
export function formatFilter(filter: string): string {
  const formatted = filter.replace(/(^|\s)'(?!\s|")|(?<!\s|")'(\s|$)/g, '$1"$2');
  return `def env: {}; {} as $ENV | ${formatted}`;
}

// Port's formatting behind the crash guards.
function jqProgram(expression: string): string {
  return JQ_CRASH_GUARDS + formatFilter(expression);
}

/** Runs a jq program on a JSON text; the first output, `undefined` when there is none. */
export function runJqProgram(json: string, program: string): unknown {
  let output: ReturnType<NativeJq['exec']>;
  try {
    output = nativeJq.exec(json, program);
  } catch (error) {
    const message = (error as Error).message ?? String(error);
    throw message.startsWith('jq: compile error') ? new JqCompileError(message) : new JqRuntimeError(message);
  }
  // The binding answers null, not an error, when the input does not parse.
  if (output === null) throw new JqRuntimeError('jq: error: the input is not valid JSON');
  return output.value;
}

/**
 * One jq expression, checked when compiled and run with Port's semantics (first output only,
 * `env` disabled). Compiled filters are cached by the native binding (100 most recent).
 */
export class JqExpression {
  private constructor(
    readonly source: string,
    private readonly program: string,
  ) {}

  /** Throws JqCompileError when jq refuses `source`. */
  static compile(source: string): JqExpression {
    const expression = JqExpression.unchecked(source);
    try {
      expression.runJson('null');
    } catch (error) {
      if (error instanceof JqCompileError) throw error;
      // A runtime error on `null` says nothing about real events.
    }
    return expression;
  }

  /**
   * An expression not yet checked: JqBatch.build checks a whole rule set's expressions with one
   * jq compilation (each costs about 30 ms in jq 1.6, whatever its length).
   */
  static unchecked(source: string): JqExpression {
    return new JqExpression(source, jqProgram(source));
  }

  /** The first output for `context`; `undefined` when the expression outputs nothing. Throws JqRuntimeError. */
  run(context: unknown): unknown {
    return this.runJson(JSON.stringify(context));
  }

  /** As `run`, on the context already serialised (serialise once, run many). */
  runJson(json: string): unknown {
    return runJqProgram(json, this.program);
  }
}

/** jq truthiness: everything but `false`, `null` and no output. */
export function isJqTruthy(value: unknown): boolean {
  return value !== false && value !== null && value !== undefined;
}
