import { isPlainObject } from '../changes/json-equal';
import { FieldError, joinField } from './rule-errors';
import { placeholderNames, resolveSecrets, SecretEnv } from './secret-placeholders';

/**
 * Applies the environment to one raw rule. Every `${NAME}` must be set (non-empty). Outside
 * `do` the values are substituted now; inside `do` the placeholders stay, so secrets reach
 * neither queue jobs nor records and are resolved only by the dispatcher that sends.
 */
export function applyRuleVariables(raw: Record<string, unknown>, env: SecretEnv): { rule: Record<string, unknown>; errors: FieldError[] } {
  const errors: FieldError[] = [];
  walkStrings(raw, '', false, (text, field, isKeyInDo) => {
    const names = placeholderNames(text);
    if (isKeyInDo && names.length > 0) errors.push({ field, message: '${NAME} placeholders are not supported in keys' });
    for (const name of names) {
      if (!env[name]) errors.push({ field, message: `\${${name}} is not set in the environment` });
    }
  });
  const { do: actions, ...rest } = raw;
  return { rule: { ...resolveSecrets(rest, env), ...(actions === undefined ? {} : { do: actions }) }, errors };
}

function walkStrings(value: unknown, field: string, inDo: boolean, visit: (text: string, field: string, isKeyInDo: boolean) => void): void {
  if (typeof value === 'string') return visit(value, field, false);
  if (Array.isArray(value)) return value.forEach((item, i) => walkStrings(item, joinField(field, i), inDo, visit));
  if (!isPlainObject(value)) return;
  for (const [key, item] of Object.entries(value)) {
    const itemField = joinField(field, key);
    visit(key, `${itemField} (key)`, inDo);
    walkStrings(item, itemField, inDo || (field === '' && key === 'do'), visit);
  }
}
