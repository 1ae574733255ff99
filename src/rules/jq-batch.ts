import { runSteps, Steps } from '../common/steps';
import { formatFilter, JQ_CRASH_GUARDS, JqCompileError, JqExpression, runJqProgram } from './jq-expression';

export interface JqGroup {
  /** Keys added to the context for this group's expressions, e.g. `{ rule: { id } }`. */
  overlay: Record<string, unknown>;
  expressions: JqExpression[];
}

export type JqOutcome = { ok: true; value: unknown } | { ok: false; error: string };

/** Expressions of a batch jq refused, by group and position in the group. */
export class JqBatchCompileError extends Error {
  override name = 'JqBatchCompileError';

  constructor(readonly failures: { group: number; expression: number; message: string }[]) {
    super(failures.map((failure) => failure.message).join('; '));
  }
}

type BatchItem = [] | [[unknown]] | [{ e: unknown }];

/** One event's context: its JSON for jq, the object itself for paths read in JS. Both may be lazy. */
export interface JqContext {
  readonly value: string;
  readonly object: Record<string, unknown>;
}

// `.a.b.c`: jq 1.6's FIELD tokens only (no `?`, brackets, quotes or pipes).
const SIMPLE_PATH = /^\s*(\.[A-Za-z_][A-Za-z0-9_]*)+\s*$/;

/** The groups [low, high) as one jq program; no `text` when jq refused it (its groups run one by one). */
interface BatchProgram {
  low: number;
  high: number;
  text?: string;
}

/**
 * Runs many jq expressions over one context in a few native calls. jq 1.6 spends most of a
 * call parsing its input (about 40 µs per KB), so one parse per event instead of one per
 * expression is what keeps a large rule set cheap. Each expression keeps Port's semantics: its own
 * `formatFilter` scope, first output only, and its own error, which does not stop the others.
 *
 * The groups are split into programs of about PROGRAM_EXPRESSIONS expressions, each compiled as one
 * step of `buildSteps`: jq 1.6 compiles a rule set's programs in about 3 ms per expression, and the
 * service's reload lets its event loop turn between programs instead of stopping for all of them
 * (a file of 1,600 jq rules held every webhook for about 9 s). A program jq will not compile has
 * its expressions run one by one (same results).
 */
export class JqBatch {
  /** Per group: when every expression is a simple path, their keys; read in JS, jq not called. */
  private readonly paths: (string[][] | undefined)[];
  /** Per group: the index of the program it is in. */
  private readonly programOf: number[];

  private constructor(
    private readonly groups: JqGroup[],
    private readonly programs: BatchProgram[],
  ) {
    this.paths = groups.map((group) => {
      const paths = group.expressions.map((expression) => simplePath(expression.source));
      return group.expressions.length > 0 && paths.every((path) => path !== undefined) ? (paths as string[][]) : undefined;
    });
    this.programOf = new Array<number>(groups.length);
    programs.forEach(({ low, high }, index) => this.programOf.fill(index, low, high));
  }

  /** Compiles every expression at once; throws JqBatchCompileError naming each one jq refuses. */
  static build(groups: JqGroup[]): JqBatch {
    return runSteps(JqBatch.buildSteps(groups));
  }

  /** `build` in steps: one jq compilation per step (see Steps). */
  static *buildSteps(groups: JqGroup[]): Steps<JqBatch> {
    if (groups.every((group) => group.expressions.length === 0)) return new JqBatch(groups, []);
    const programs: BatchProgram[] = [];
    for (const [low, high] of programRanges(groups)) {
      yield;
      const text = programText(groups, low, high);
      try {
        runJqProgram('{"a":[],"c":null}', text);
        programs.push({ low, high, text });
      } catch (error) {
        if (!(error instanceof JqCompileError)) throw error;
        programs.push({ low, high });
      }
    }
    // Only the expressions of a refused program are compiled alone, to name the ones jq refuses.
    const failures: JqBatchCompileError['failures'] = [];
    for (const { low, high, text } of programs) {
      if (text !== undefined) continue;
      for (let group = low; group < high; group += 1) {
        for (const [index, expression] of groups[group].expressions.entries()) {
          yield;
          const message = compileErrorOf(expression);
          if (message) failures.push({ group, expression: index, message });
        }
      }
    }
    if (failures.length > 0) throw new JqBatchCompileError(failures);
    return new JqBatch(groups, programs);
  }

  /** Whether every expression runs in a combined program (false: some run one by one). */
  get combined(): boolean {
    return this.programs.length > 0 && this.programs.every((program) => program.text !== undefined);
  }

  /** How many jq programs the expressions were compiled into. */
  get programCount(): number {
    return this.programs.length;
  }

  /**
   * The outcome of every expression of each group in `active` (group indexes), in that order.
   * Groups made only of simple paths (`.entity.properties.cpu`, most `{{ }}` slots) are read in JS
   * with jq's semantics, which costs a hundredth of a native call; the rest share one jq call per program.
   */
  run(context: string | JqContext, active: number[]): JqOutcome[][] {
    if (active.length === 0) return [];
    const input = typeof context === 'string' ? parsedLazily(context) : context;
    const results: JqOutcome[][] = new Array(active.length);
    // Per program: the groups it runs and where their outcomes go.
    const viaJq = new Map<number, { groups: number[]; at: number[] }>();
    active.forEach((group, at) => {
      const paths = this.paths[group];
      if (paths) {
        results[at] = paths.map((path) => readPath(input.object, this.groups[group].overlay, path));
        return;
      }
      const program = this.programOf[group];
      let batch = viaJq.get(program);
      if (!batch) viaJq.set(program, (batch = { groups: [], at: [] }));
      batch.groups.push(group);
      batch.at.push(at);
    });
    for (const [program, { groups, at }] of viaJq) {
      const outcomes = this.runProgram(input.value, this.programs[program], groups);
      at.forEach((position, i) => (results[position] = outcomes[i]));
    }
    return results;
  }

  private runProgram(contextJson: string, program: BatchProgram | undefined, active: number[]): JqOutcome[][] {
    const outcomes = program?.text === undefined ? undefined : runCombined(contextJson, program.text, active);
    return outcomes ?? active.map((index) => this.runOneByOne(contextJson, this.groups[index]));
  }

  private runOneByOne(contextJson: string, group: JqGroup): JqOutcome[] {
    const json = withOverlay(contextJson, group.overlay);
    return group.expressions.map((expression) => {
      try {
        return { ok: true, value: expression.runJson(json) };
      } catch (error) {
        return { ok: false, error: (error as Error).message };
      }
    });
  }
}

// `halt`, or anything else that ends the program early, leaves no usable output: undefined, and the
// caller runs the expressions one by one.
function runCombined(contextJson: string, program: string, active: number[]): JqOutcome[][] | undefined {
  let output: unknown;
  try {
    output = runJqProgram(`{"a":${JSON.stringify(active)},"c":${contextJson}}`, program);
  } catch {
    return undefined;
  }
  if (!Array.isArray(output) || output.length !== active.length) return undefined;
  return (output as BatchItem[][]).map((items) => items.map(outcomeOf));
}

function parsedLazily(json: string): JqContext {
  let object: Record<string, unknown> | undefined;
  return {
    value: json,
    get object() {
      return (object ??= JSON.parse(json) as Record<string, unknown>);
    },
  };
}

/** The keys of a simple path expression, or undefined when jq must run it. */
export function simplePath(source: string): string[] | undefined {
  return SIMPLE_PATH.test(source) ? source.trim().slice(1).split('.') : undefined;
}

/**
 * `.k1.k2…` as jq 1.6 runs it on `context + overlay`: a missing key or null gives null, indexing
 * anything but an object or null is jq's error. Objects and arrays are copied through JSON, as jq
 * hands back a value of its own (and without keys whose value is undefined).
 */
export function readPath(context: Record<string, unknown>, overlay: Record<string, unknown>, keys: string[]): JqOutcome {
  let value: unknown = Object.prototype.hasOwnProperty.call(overlay, keys[0]) ? overlay[keys[0]] : context[keys[0]];
  for (let i = 1; i < keys.length; i += 1) {
    if (value === null || value === undefined) return { ok: true, value: null };
    if (typeof value !== 'object' || Array.isArray(value)) return { ok: false, error: `jq: error: Cannot index ${jqType(value)} with string "${keys[i]}"` };
    const object = value as Record<string, unknown>;
    value = Object.prototype.hasOwnProperty.call(object, keys[i]) ? object[keys[i]] : null;
  }
  if (value === undefined) return { ok: true, value: null };
  return { ok: true, value: typeof value === 'object' && value !== null ? JSON.parse(JSON.stringify(value)) : value };
}

function jqType(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  return typeof value === 'boolean' ? 'boolean' : typeof value === 'number' ? 'number' : 'string';
}

function compileErrorOf(expression: JqExpression): string | undefined {
  try {
    JqExpression.compile(expression.source);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** Adds the keys of `overlay` to a serialised JSON object (last key wins in jq, as in `. + overlay`). */
export function withOverlay(objectJson: string, overlay: Record<string, unknown>): string {
  const extra = JSON.stringify(overlay).slice(1, -1);
  if (!extra) return objectJson;
  const body = objectJson.trimEnd().slice(0, -1);
  return `${body}${/\{\s*$/.test(body) ? '' : ','}${extra}}`;
}

// Mirrors the binding: an error with a string message fails; a bare `error(null)` is no output.
function outcomeOf(items: BatchItem): JqOutcome {
  const item = items[0];
  if (item === undefined) return { ok: true, value: undefined };
  if (Array.isArray(item)) return { ok: true, value: item[0] };
  return typeof item.e === 'string' ? { ok: false, error: `jq: error: ${item.e}` } : { ok: true, value: undefined };
}

// jq 1.6 binds each definition over the rest of its block, so one top-level definition per group
// made compiling a file quadratic in its rules (1,600 one-condition rules took 39 s to load). The
// group definitions of a program are split into blocks of about CHUNK_EXPRESSIONS expressions, each
// block the body of one definition (the same file: 10-12 s); those few are defined where the group
// index `$__cr_i` is bound, so picking a group costs what it did (the index is not a parameter).
const CHUNK_EXPRESSIONS = 100;
/** Expressions per program: one compilation step of about 0.3 s in jq 1.6. */
const PROGRAM_EXPRESSIONS = 100;
/**
 * At most this many programs per batch, larger ones past that: the binding caches its 100 most
 * recently used programs, and a rule set's two batches, with the next set's while a reload builds
 * it, must stay in that cache (a program evicted is compiled again, on the event's time).
 */
const MAX_PROGRAMS = 16;

function programRanges(groups: JqGroup[]): [number, number][] {
  let expressions = 0;
  let largest = 1;
  for (const group of groups) {
    expressions += Math.max(1, group.expressions.length);
    largest = Math.max(largest, group.expressions.length);
  }
  // A group is never split: every range but the last holds at least `perProgram - largest + 1`
  // expressions, which keeps them within MAX_PROGRAMS.
  const perProgram = Math.ceil(expressions / MAX_PROGRAMS) + largest - 1;
  return chunkRanges(groups, Math.max(PROGRAM_EXPRESSIONS, perProgram), 0, groups.length);
}

/** The groups [low, high) as one program: input `{a: [group indexes], c: context}`, output one array per index. */
function programText(groups: JqGroup[], low: number, high: number): string {
  const chunks = chunkRanges(groups, CHUNK_EXPRESSIONS, low, high);
  const chunkDefinitions = chunks.map(([chunkLow, chunkHigh], chunk) => {
    const definitions = groups.slice(chunkLow, chunkHigh).map((group, offset) => {
      const items = group.expressions.map((expression) => wrapExpression(expression.source)).join(', ');
      return `def __cr_group${chunkLow + offset}: (. + ${JSON.stringify(group.overlay)}) | [${items}];`;
    });
    return `def __cr_chunk${chunk}: ${definitions.join('\n')}\n${pickTree(chunkLow, chunkHigh, (group) => `__cr_group${group}`)};`;
  });
  const pick = pickTree(0, chunks.length, (chunk) => `__cr_chunk${chunk}`, (chunk) => chunks[chunk][0]);
  return [JQ_CRASH_GUARDS, '.c as $__cr_c | [.a[] as $__cr_i | $__cr_c |', ...chunkDefinitions, `${pick}]`].join('\n');
}

/** Consecutive [from, to) ranges covering groups [low, high), each of at most `maxExpressions` expressions (but for a single group). */
function chunkRanges(groups: JqGroup[], maxExpressions: number, low: number, high: number): [number, number][] {
  const ranges: [number, number][] = [];
  let from = low;
  let expressions = 0;
  for (let index = low; index < high; index += 1) {
    const size = Math.max(1, groups[index].expressions.length);
    if (index > from && expressions + size > maxExpressions) {
      ranges.push([from, index]);
      from = index;
      expressions = 0;
    }
    expressions += size;
  }
  ranges.push([from, high]);
  return ranges;
}

// The newline ends a trailing `# comment` in the user's expression before the closing parenthesis.
function wrapExpression(source: string): string {
  return `[try (first((${formatFilter(source)}\n)) | [.]) catch {"e": .}]`;
}

// A balanced if-tree on the group index `$__cr_i` over leaves low..high-1, the first group of leaf
// `i` being `firstGroup(i)`: an active group costs log2(groups) comparisons, an inactive one nothing.
function pickTree(low: number, high: number, leaf: (index: number) => string, firstGroup: (index: number) => number = (index) => index): string {
  if (high - low === 1) return leaf(low);
  const middle = (low + high) >> 1;
  return `if $__cr_i < ${firstGroup(middle)} then ${pickTree(low, middle, leaf, firstGroup)} else ${pickTree(middle, high, leaf, firstGroup)} end`;
}
