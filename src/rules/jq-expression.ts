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

// jq 1.6 as bound by Port kills the whole process (an assertion, SIGABRT) on `debug` and `input`
// (callbacks the binding never sets), on `implode` of anything but valid code points, on
// `strftime`/`strflocaltime` (so `todate`) of a number gmtime cannot convert (|n| >= ~1e17 s, as a
// timestamp in ns is) or with a format that is not a string, and on a slice at NaN (`"NaN" |
// tonumber` gives one). And it loops forever, eating memory, on a global match (gsub, scan,
// splits, split/2, match with "g") whose pattern matches the empty string before the end: the slug
// idiom `gsub("[^a-z0-9]*"; "")` does. These definitions shadow them with equivalents that answer
// jq's error instead (a rule's failure, recorded; the other rules run); `stderr` is shadowed too so
// event data never reaches our logs that way. The regex ones are jq 1.6's own (src/builtin.jq),
// bound to the guarded `match` and `sub`; a pattern that matches the empty string only in the
// middle of a text after a first non-empty match (`x|(?=b)`) is not caught, nor is a pattern that
// backtracks for ever (Oniguruma 6.1 has no limit): those hang, as they do in Port.
export const JQ_CRASH_GUARDS = [
  'def debug: .; def stderr: .; def input: error("input is not available"); def inputs: empty;',
  'def __cr_implode: implode;',
  'def implode: if type == "array" and all(.[]; type == "number" and . >= 0 and . <= 1114111)',
  'then __cr_implode else error("implode input must be an array of code points") end;',
  // Dates: a number goes through the (guarded) gmtime first, which answers an error, not garbage.
  'def __cr_strftime($f): strftime($f); def __cr_strflocaltime($f): strflocaltime($f);',
  'def strftime($f): if ($f | type) != "string" then error("strftime/1 requires a string format")',
  'elif type == "number" then gmtime | __cr_strftime($f) else __cr_strftime($f) end;',
  'def strflocaltime($f): if ($f | type) != "string" then error("strflocaltime/1 requires a string format")',
  'elif type == "number" then localtime | __cr_strflocaltime($f) else __cr_strflocaltime($f) end;',
  'def todateiso8601: strftime("%Y-%m-%dT%H:%M:%SZ"); def todate: todateiso8601;',
  'def __cr_tonumber: tonumber;',
  'def tonumber: __cr_tonumber | if isnan then error("tonumber: not a number (NaN)") else . end;',
  // Regexes: a global match refuses a pattern that matches the empty string (anywhere, or first
  // in this text before its end); sub with "g" one that matched empty at the start of what is left.
  'def __cr_match($re; $mode): match($re; $mode);',
  'def __cr_empty($re): error("pattern \\($re | tojson) matches the empty string, and a global match, gsub, scan or split with it never ends in jq 1.6: make it match at least one character (+ rather than *)");',
  'def __cr_loops($re; $mode): . as $s | ("" | test($re; $mode))',
  'or ([__cr_match($re; $mode | [explode[] | select(. != 103)] | implode)] | .[0] | . != null and .length == 0 and .offset < ($s | length));',
  'def match($re; $mode): if type == "string" and length > 0 and ($mode | type) == "string" and ($mode | index("g")) != null',
  'and __cr_loops($re; $mode) then __cr_empty($re) else __cr_match($re; $mode) end;',
  'def match($val): ($val|type) as $vt | if $vt == "string" then match($val; null)',
  'elif $vt == "array" and ($val | length) > 1 then match($val[0]; $val[1])',
  'elif $vt == "array" and ($val | length) > 0 then match($val[0]; null) else error( $vt + " not a string or array") end;',
  'def capture(re; mods): match(re; mods) | reduce ( .captures | .[] | select(.name != null) | { (.name) : .string } ) as $pair ({}; . + $pair);',
  'def capture($val): ($val|type) as $vt | if $vt == "string" then capture($val; null)',
  'elif $vt == "array" and ($val | length) > 1 then capture($val[0]; $val[1])',
  'elif $vt == "array" and ($val | length) > 0 then capture($val[0]; null) else error( $vt + " not a string or array") end;',
  'def scan(re): match(re; "g") | if (.captures|length > 0) then [ .captures | .[] | .string ] else .string end;',
  'def splits($re; flags): . as $s | [ match($re; "g" + flags) | (.offset, .offset + .length) ] | [0] + . +[$s|length] | _nwise(2) | $s[.[0]:.[1] ];',
  'def splits($re): splits($re; null);',
  'def split($re; flags): [ splits($re; flags) ];',
  'def sub($re; s; flags): def subg: [explode[] | select(. != 103)] | implode;',
  'def sub1(fla; gs): def mysub: . as $in | [match($re; fla)]',
  '| if length == 0 then $in else .[0] as $edit | ($edit | .offset + .length) as $len',
  '| if gs and $len == 0 and ($in | length) > 0 then __cr_empty($re) else',
  'reduce ( $edit | .captures | .[] | select(.name != null) | { (.name) : .string } ) as $pair ({}; . + $pair)',
  '| $in[0:$edit.offset] + s + ($in[$len:] | if length > 0 and gs then mysub else . end) end end; mysub;',
  '(flags | index("g")) as $gs | (flags | if $gs then subg else . end) as $fla | sub1($fla; $gs);',
  'def sub($re; s): . as $in | [match($re)] | if length == 0 then $in else .[0] | . as $r',
  '| reduce ( $r | .captures | .[] | select(.name != null) | { (.name) : .string } ) as $pair ({}; . + $pair)',
  '| $in[0:$r.offset] + s + $in[$r.offset+$r.length:] end;',
  'def gsub($re; s; flags): sub($re; s; flags + "g"); def gsub($re; s): sub($re; s; "g");',
].join(' ');

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
  return `def env: {}; {} as $ENV | ${portQuotes(filter)}`;
}

function portQuotes(filter: string): string {
  return filter.replace(/(^|\s)'(?!\s|")|(?<!\s|")'(\s|$)/g, '$1"$2');
}

// Port's formatting behind the crash guards, its first output collected in an array. The binding
// reads one output and leaves the program there; a program left inside a path expression (`paths`,
// `path(..)`) aborts the process the next time the binding, which caches programs, starts it
// again. An array is whole when it is output, so nothing is left half-done. The newline ends a
// trailing `# comment`.
function jqProgram(expression: string): string {
  return `${JQ_CRASH_GUARDS}def env: {}; {} as $ENV | [first((${portQuotes(expression)}\n))]`;
}

// The expression compiled, never run (nothing reaches it after `empty`): running it, on null, to
// check it would hang on an expression that never ends. As Port's program otherwise, so that jq's
// compile errors read the same (`|` binds loosest: the expression is whole after it).
function compileOnlyProgram(expression: string): string {
  return `${JQ_CRASH_GUARDS}def env: {}; {} as $ENV | empty | ${portQuotes(expression)}`;
}

/** Runs a jq program on a JSON text; the first output, `undefined` when there is none. */
export function runJqProgram(json: string, program: string): unknown {
  let output: ReturnType<NativeJq['exec']>;
  try {
    output = nativeJq.exec(json, program);
  } catch (error) {
    const message = (error as Error).message ?? String(error);
    throw message.startsWith('jq: compile error') ? new JqCompileError(compileErrorText(message)) : new JqRuntimeError(message);
  }
  // The binding answers null, not an error, when the input does not parse.
  if (output === null) throw new JqRuntimeError('jq: error: the input is not valid JSON');
  return output.value;
}

/**
 * jq's compile error without the jq command line's advice (`(Unix shell quoting issues?)`) and the
 * position it would print the program after (`at <top-level>, line 1:`): the line is the combined
 * program's, not the rule's, and nothing follows the colon.
 */
function compileErrorText(message: string): string {
  return message.replace(/ \(Unix shell quoting issues\?\)/g, '').replace(/ at <top-level>, line \d+:$/gm, '');
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
    runJqProgram('null', compileOnlyProgram(source));
    return JqExpression.unchecked(source);
  }

  /**
   * An expression not yet checked: JqBatch.build checks a whole rule set's expressions in programs
   * of about 100 (a jq compilation costs about 30 ms in jq 1.6, whatever its length, plus about 3 ms
   * per expression in it).
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
    const output = runJqProgram(json, this.program);
    // No array: `halt`, or an error whose message is not a string, which the binding (so Port) takes as no output.
    return Array.isArray(output) ? output[0] : undefined;
  }
}

/** jq truthiness: everything but `false`, `null` and no output. */
export function isJqTruthy(value: unknown): boolean {
  return value !== false && value !== null && value !== undefined;
}
