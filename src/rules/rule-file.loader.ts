import { readFileSync } from 'node:fs';
import { Document, LineCounter, parseDocument, YAMLError } from 'yaml';
import { isPlainObject } from '../changes/json-equal';
import { runSteps, runStepsYielding, Steps } from '../common/steps';
import { compileRulesSteps, registerCompiledRuleSet } from './rule-compiler';
import { formatRuleErrors, joinField, RuleError } from './rule-errors';
import { validateRule } from './rule-validation';
import { applyRuleVariables } from './rule-variables';
import type { Rule, RuleSet } from './rule.types';

export { formatRuleErrors };
export type { RuleError };

export interface LoadRulesOptions {
  /** Values for `${NAME}`; an unset (or empty) name makes the file invalid. */
  env: Record<string, string | undefined>;
  /** Where the text came from, for logs and readiness. */
  source: string;
  /** Whether SLACK_WEBHOOK_URL is set, so `slack` actions may omit `webhookUrl`. */
  slackDefaultConfigured: boolean;
}

export type LoadRulesResult = { ok: true; ruleSet: RuleSet } | { ok: false; errors: RuleError[] };

/**
 * Validates and compiles a rules file. Never throws on bad input: every problem is returned at
 * once, each naming its rule and field. The returned rule set is plain data; its compiled form
 * (checked jq, parsed templates) is kept aside for evaluateRules.
 */
export function loadRulesFromText(text: string, options: LoadRulesOptions): LoadRulesResult {
  try {
    return runSteps(loadText(text, options));
  } catch (error) {
    return tooDeep(error);
  }
}

/**
 * loadRulesFromText letting the event loop turn between its jq compilations (about 0.3 s each), as
 * the service reloads a changed file: webhooks are answered meanwhile, under the rules in use.
 */
export async function loadRulesFromTextYielding(text: string, options: LoadRulesOptions): Promise<LoadRulesResult> {
  try {
    return await runStepsYielding(loadText(text, options));
  } catch (error) {
    return tooDeep(error);
  }
}

// Nesting deep enough to exhaust the stack is bad input like any other, not a crash.
function tooDeep(error: unknown): LoadRulesResult {
  if (error instanceof RangeError) return { ok: false, errors: [{ field: 'yaml', message: 'the file is nested too deeply' }] };
  throw error;
}

function* loadText(text: string, options: LoadRulesOptions): Steps<LoadRulesResult> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) return { ok: false, errors: doc.errors.map((error) => yamlError(error, lineCounter)) };
  const json = plainJson(doc);
  if ('error' in json) return { ok: false, errors: [{ field: 'yaml', message: json.error }] };
  const root = json.value;
  const errors = rootErrors(root);
  // An unknown top-level key is reported with the rules' own errors, not instead of them.
  if (!isPlainObject(root) || !Array.isArray(root.rules)) return { ok: false, errors };
  const rawRules = (root as { rules: unknown[] }).rules;
  const ids: (string | undefined)[] = [];
  const rules = rawRules.flatMap((raw, index) => {
    const { rule, id, errors: ruleErrors } = loadRule(raw, index, options);
    errors.push(...ruleErrors);
    ids.push(id);
    return rule ? [rule] : [];
  });
  errors.push(...duplicateIds(ids, doc, lineCounter));
  const compiled = yield* compileRulesSteps(rules);
  if (!compiled.ok) errors.push(...compiled.errors);
  if (errors.length > 0 || !compiled.ok) return { ok: false, errors };
  const ruleSet: RuleSet = { rules, source: options.source, loadedAt: new Date().toISOString() };
  registerCompiledRuleSet(ruleSet, compiled.compiled);
  return { ok: true, ruleSet };
}

/** loadRulesFromText on a file; a missing or unreadable file is an error like any other. */
export function loadRulesFile(path: string, options: Omit<LoadRulesOptions, 'source'> & { source?: string }): LoadRulesResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : (code ?? (error as Error).message);
    return { ok: false, errors: [{ field: '', message: `cannot read ${path}: ${reason}` }] };
  }
  return loadRulesFromText(text, { ...options, source: options.source ?? path });
}

function yamlError(error: YAMLError, lines: LineCounter): RuleError {
  const { line, col } = lines.linePos(error.pos[0]);
  // The library's words for this one are advice to its own callers ("please use YAML.parseAllDocuments()").
  const message = error.code === 'MULTIPLE_DOCS' ? 'the file holds more than one YAML document (a `---` line after the first): put every rule in one `rules` list' : error.message.split('\n')[0];
  return { field: `line ${line}, column ${col}`, message: `invalid YAML: ${message}` };
}

// A JSON copy: aliases become independent values, and an alias bomb or an anchor that contains
// itself is refused instead of exhausting memory or recursing forever.
function plainJson(doc: Document): { value: unknown } | { error: string } {
  try {
    return { value: JSON.parse(JSON.stringify(doc.toJS({ maxAliasCount: 100 }) ?? null)) as unknown };
  } catch (error) {
    return { error: `invalid YAML: ${(error as Error).message.split('\n')[0]}` };
  }
}

function rootErrors(root: unknown): RuleError[] {
  if (!isPlainObject(root)) return [{ field: 'rules', message: 'is required: the file must be a mapping with a `rules` list' }];
  const unknown = Object.keys(root).filter((key) => key !== 'rules');
  const errors: RuleError[] = unknown.map((key) => ({ field: joinField('', key), message: 'is not a known field (only `rules`)' }));
  if (!Array.isArray(root.rules)) errors.push({ field: 'rules', message: 'must be a list of rules' });
  return errors;
}

/** One rule, validated after its `${NAME}`s are put in; its id as the service will know it. */
function loadRule(raw: unknown, index: number, options: LoadRulesOptions): { rule?: Rule; id?: string; errors: RuleError[] } {
  const substituted = isPlainObject(raw) ? applyRuleVariables(raw, options.env) : { rule: raw, errors: [] };
  const { rule, errors } = validateRule(substituted.rule, options);
  const id = isPlainObject(substituted.rule) && typeof substituted.rule.id === 'string' ? substituted.rule.id : undefined;
  const all = [...substituted.errors, ...errors];
  const named = all.map((error) => (id === undefined ? { ...error, field: withPrefix(`rules[${index}]`, error.field) } : { ruleId: id, ...error }));
  return { rule: all.length === 0 ? rule : undefined, id, errors: named };
}

function withPrefix(prefix: string, field: string): string {
  if (!field) return prefix;
  return field.startsWith('[') ? `${prefix}${field}` : `${prefix}.${field}`;
}

// The ids with their `${NAME}`s put in: two rules written `id: ${A}` and `id: ${B}` with A=B are one
// id to the service (their action jobs would share keys, and one rule's actions would be dropped).
function duplicateIds(ids: (string | undefined)[], doc: Document, lines: LineCounter): RuleError[] {
  const firstIndex = new Map<string, number>();
  const errors: RuleError[] = [];
  ids.forEach((id, index) => {
    if (id === undefined) return;
    const first = firstIndex.get(id);
    if (first === undefined) return void firstIndex.set(id, index);
    const where = (i: number) => `rules[${i}]${lineOf(doc, lines, i)}`;
    errors.push({ ruleId: id, field: 'id', message: `duplicate id: used by ${where(first)} and ${where(index)}` });
  });
  return errors;
}

function lineOf(doc: Document, lines: LineCounter, index: number): string {
  const node = doc.getIn(['rules', index], true) as { range?: [number, number, number] } | undefined;
  return node?.range ? ` (line ${lines.linePos(node.range[0]).line})` : '';
}
