import type { ValidationError } from 'class-validator';

/** One problem of a rules file. `field` is relative to the rule when `ruleId` is set, else absolute (`rules[2].id`). */
export interface RuleError {
  ruleId?: string;
  field: string;
  message: string;
}

/** A field-level problem before it is attached to a rule. */
export interface FieldError {
  field: string;
  message: string;
}

/** One line per error: `rule "deployment-degraded": do[0].http.url: must be a string`. */
export function formatRuleErrors(errors: RuleError[]): string {
  return errors.map(formatRuleError).join('\n');
}

export function formatRuleError({ ruleId, field, message }: RuleError): string {
  const where = field ? `${field}: ` : '';
  return printable(ruleId === undefined ? `${where}${message}` : `rule ${JSON.stringify(ruleId)}: ${where}${message}`);
}

// Errors quote the file (a jq expression, a YAML scalar, a key), and `rules test` an event, which may hold control characters:
// shown escaped, so a terminal or a log line gets no escape sequence, carriage return or NUL from it.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/g;

export function printable(text: string): string {
  return text.replace(CONTROL, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `a.b` + `c` -> `a.b.c`; `a` + `[0]` -> `a[0]`; keys that are not identifiers are quoted. */
export function joinField(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  const part = /^[A-Za-z_$][\w$-]*$/.test(key) ? key : JSON.stringify(key);
  return parent ? `${parent}.${part}` : part;
}

/** class-validator's tree, flattened to one FieldError per failed constraint. */
export function fieldErrorsOf(errors: ValidationError[], parent: string): FieldError[] {
  return errors.flatMap((error) => {
    const field = joinField(parent, error.property);
    const own = Object.entries(error.constraints ?? {}).map(([constraint, message]) => ({
      field,
      message: constraint === 'whitelistValidation' ? 'is not a known field' : message,
    }));
    return [...own, ...fieldErrorsOf(error.children ?? [], field)];
  });
}
