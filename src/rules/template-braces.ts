/**
 * Finds the `{{ }}` expressions of `text` exactly as Port's renderer does (jq-node-bindings
 * lib/template.js): quotes inside braces hide braces, `\` escapes the next character, a third
 * brace belongs to the expression. Throws on unbalanced or nested braces, with Port's message.
 */
export function findTemplateRanges(text: string): { start: number; end: number }[] {
  let quote: string | null = null;
  let openAt: number | null = null;
  const ranges: { start: number; end: number }[] = [];
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i];
    if (openAt !== null && char === '\\') i += 1;
    if (openAt !== null && (char === '"' || char === "'")) {
      if (!quote) quote = char;
      else if (quote === char) quote = null;
    } else if (!quote && char === '{' && i > 0 && text[i - 1] === '{') {
      if (openAt !== null) throw new Error(`Found double braces in index ${i - 1} inside other one in index ${openAt - 2}`);
      openAt = i + 1;
      if (text[i + 1] === '{') i += 1;
    } else if (!quote && char === '}' && i > 0 && text[i - 1] === '}') {
      if (openAt === null) throw new Error(`Found closing double braces in index ${i - 1} without opening double braces`);
      ranges.push({ start: openAt, end: i - 1 });
      openAt = null;
      if (text[i + 1] === '}') i += 1;
    }
  }
  if (openAt !== null) throw new Error(`Found opening double braces in index ${openAt - 2} without closing double braces`);
  return ranges;
}
