import { renderRecursively } from '@port-labs/jq-node-bindings';
import { JqBatch } from './jq-batch';
import { JqExpression } from './jq-expression';
import { resolveSecrets } from './secret-placeholders';
import { compileTemplate, renderTemplate, TemplateError } from './template';
import { findTemplateRanges } from './template-braces';

const context = {
  entity: { title: 'Svc', properties: { cpuUtil: 85, tags: ['a', 'b'], healthStatus: 'Degraded' } },
  context: { entity: 'svc', blueprint: 'deploymentConfig' },
  rule: { id: 'r1' },
  keyName: 'dynamic',
};

function render(template: unknown, data: object = context): unknown {
  const expressions: JqExpression[] = [];
  const node = compileTemplate(template, 'do[0].http', (source) => expressions.push(JqExpression.unchecked(source)) - 1);
  const outcomes = JqBatch.build([{ overlay: {}, expressions }]).run(JSON.stringify(data), [0]);
  return renderTemplate(node, outcomes[0] ?? []);
}

describe('template', () => {
  describe('renderTemplate', () => {
    const sameAsPort: [string, unknown][] = [
      ['a plain string', 'no templates here'],
      ['a whole template keeping a number', '{{ .entity.properties.cpuUtil }}'],
      ['a whole template keeping an array', '{{ .entity.properties.tags }}'],
      ['a whole template with spaces around it', '  {{ .entity.title }}  '],
      ['an object built inside braces', '{{ {a: .entity.title} }}'],
      ['interpolation of a string and a number', '{{ .entity.title }} at {{ .entity.properties.cpuUtil }}%'],
      ['interpolation of an object as JSON', 'tags={{ .entity.properties.tags }}'],
      ['braces inside a quoted jq string', '{{ "}}" + .entity.title }} done'],
      ['single quotes rewritten by Port', "{{ .entity.title + '!' }}"],
      ['a missing value', 'x={{ .nothing.here }}'],
      ['nested objects and arrays', { url: 'https://x/{{ .context.entity }}', list: ['{{ .rule.id }}', 3, true, null], deep: { n: '{{ 1 + 1 }}' } }],
      ['a templated key', { '{{ .keyName }}': 'value', plain: '{{ .entity.title }}' }],
      ['a key that renders null (dropped)', { '{{ .nothing }}': 'gone', kept: 1 }],
      ['numbers and booleans untouched', { a: 1, b: false, c: null }],
    ];

    it.each(sameAsPort)('should render %s as Port does', (_name, template) => {
      expect(render(template)).toEqual(renderRecursively(context, template as object));
    });

    it('should render an expression with no output as null', () => {
      expect(render('{{ empty }}')).toBeNull();
      expect(render('a{{ empty }}b')).toBe('anullb');
    });

    it('should throw a TemplateError naming the field when jq fails', () => {
      expect(() => render({ url: '{{ .entity.title | .x }}' })).toThrow(TemplateError);
      try {
        render({ url: '{{ error("boom") }}' });
      } catch (error) {
        expect((error as TemplateError).field).toBe('do[0].http.url');
        expect((error as Error).message).toBe('jq: error: boom');
      }
    });

    it('should refuse a templated key that is not a string', () => {
      expect(() => render({ '{{ 1 }}': 'x' })).toThrow(/must give a string/);
    });
  });

  describe('values rendered into a URL', () => {
    const withEntity = (entity: string) => ({ ...context, context: { ...context.context, entity } });
    const refused = /template: a value rendered into the URL's (path|query) holds/;

    it.each([
      ['an id with slashes and dots, in the path', '${SCALER_URL}/services/{{ .context.entity }}/scale', 'team/svc.v2', '${SCALER_URL}/services/team/svc.v2/scale'],
      ['an id holding "..", in the path', 'https://scaler/services/{{ .context.entity }}', 'a..b', 'https://scaler/services/a..b'],
      ['an id starting or ending with a dot, in the path', 'https://scaler/services/{{ .context.entity }}', '.hidden.', 'https://scaler/services/.hidden.'],
      ['a value in the query holding a dot segment', 'https://scaler/scale?id={{ .context.entity }}', 'a/../b', 'https://scaler/scale?id=a/../b'],
      ['the host, chosen by the file', 'https://{{ .context.entity }}/hook', 'scaler.internal', 'https://scaler.internal/hook'],
      ['the whole URL, chosen by the file', '{{ .context.entity }}', 'https://x/../y', 'https://x/../y'],
      ['a fragment', 'https://scaler/x#{{ .context.entity }}', 'a?b#c', 'https://scaler/x#a?b#c'],
      ['a parameter value holding "&", "#" and "+", encoded so they stay in it', 'https://scaler/scale?team={{ .context.entity }}&n=1', 'R&D #2+3', 'https://scaler/scale?team=R%26D %232%2B3&n=1'],
      ['a later parameter value the same way', 'https://scaler/scale?n=1&team={{ .context.entity }}', 'a&admin=1', 'https://scaler/scale?n=1&team=a%26admin=1'],
      ['a value already encoded with @uri, not twice', 'https://scaler/scale?team={{ .context.entity }}', 'R%26D%20x', 'https://scaler/scale?team=R%26D%20x'],
      ['a whole query, chosen by the file', 'https://scaler/scale?{{ .context.entity }}', 'a=1&b=2', 'https://scaler/scale?a=1&b=2'],
    ])('should render %s', (_name, url, entity, expected) => {
      expect(render({ url }, withEntity(entity))).toEqual({ url: expected });
    });

    it.each([
      ['climbs out of the path', '${SCALER_URL}/services/{{ .context.entity }}/scale', '../../admin/delete-all?x='],
      ['climbs from inside', '${SCALER_URL}/services/{{ .context.entity }}/scale', 'a/../../b'],
      ['is a ".." segment', 'https://scaler/services/{{ .context.entity }}', '..'],
      ['is a "." segment (dropped from the path)', 'https://scaler/services/{{ .context.entity }}/scale', '.'],
      ['holds a "." segment', 'https://scaler/services/{{ .context.entity }}/scale', 'a/./b'],
      ['is percent-encoded', 'https://scaler/services/{{ .context.entity }}', '%2E%2e/admin'],
      ['uses backslashes', 'https://scaler/services/{{ .context.entity }}', '..\\admin'],
      ['starts a query in the path', 'https://scaler/services/{{ .context.entity }}/scale', 'svc?admin=1'],
      ['starts a fragment in the path', 'https://scaler/services/{{ .context.entity }}/scale', 'svc#'],
      ['starts a fragment in the query', 'https://scaler/scale?{{ .context.entity }}&n=1', 'id=svc#'],
    ])('should refuse a value that %s, naming the field', (_name, url, entity) => {
      expect(() => render({ url }, withEntity(entity))).toThrow(refused);
    });

    it('should leave values in other fields alone', () => {
      expect(render({ body: { path: '/x/{{ .context.entity }}' } }, withEntity('../..'))).toEqual({ body: { path: '/x/../..' } });
    });

    it('should check a Slack webhook URL the same way', () => {
      const expressions: JqExpression[] = [];
      const node = compileTemplate({ webhookUrl: 'https://hooks/{{ .context.entity }}' }, 'do[0].slack', (source) => expressions.push(JqExpression.unchecked(source)) - 1);
      const outcomes = JqBatch.build([{ overlay: {}, expressions }]).run(JSON.stringify(withEntity('../x')), [0]);

      expect(() => renderTemplate(node, outcomes[0] ?? [])).toThrow(expect.objectContaining({ field: 'do[0].slack.webhookUrl' }));
    });
  });

  describe('secret placeholders in results', () => {
    const env = { SCALER_TOKEN: 's3cr3t' };
    const titled = (title: string) => ({ ...context, entity: { ...context.entity, title } });

    it.each([
      ['a whole-string result', '{{ .entity.title }}', '${SCALER_TOKEN}'],
      ['an interpolated result', 'Title: {{ .entity.title }}', 'Title: ${SCALER_TOKEN}'],
      ['a result inside an object value', { text: '{{ .entity }}' }, { text: { ...context.entity, title: '${SCALER_TOKEN}' } }],
    ])('should never resolve ${NAME} coming from %s', (_name, template, expected) => {
      expect(resolveSecrets(render(template, titled('${SCALER_TOKEN}')), env)).toEqual(expected);
    });

    it('should not let a result complete a placeholder started in the file', () => {
      const rendered = render('${SCALER_{{ .entity.title }}', titled('TOKEN}'));
      expect(resolveSecrets(rendered, env)).toBe('${SCALER_TOKEN}');
    });

    it('should not let a result open a placeholder closed in the file', () => {
      expect(resolveSecrets(render('{{ .entity.title }}_TOKEN}', titled('${SCALER')), env)).toBe('${SCALER_TOKEN}');
    });

    it('should keep an escaped placeholder in a result as written', () => {
      expect(resolveSecrets(render('{{ .entity.title }}', titled('$${SCALER_TOKEN}')), env)).toBe('$${SCALER_TOKEN}');
    });

    it('should still resolve placeholders written in the file next to results', () => {
      expect(resolveSecrets(render('Bearer ${SCALER_TOKEN} for {{ .entity.title }}', titled('${SCALER_TOKEN}')), env)).toBe(
        'Bearer s3cr3t for ${SCALER_TOKEN}',
      );
    });
  });

  describe('findTemplateRanges', () => {
    it.each([
      ['{{ .a }}', [' .a ']],
      ['x {{.a}} y {{.b}}', ['.a', '.b']],
      ['{{ "}}" }}', [' "}}" ']],
      ["{{ '{{' }}", [" '{{' "]],
      ['{{ "a\\"}}" }}', [' "a\\"}}" ']],
      ['no braces { } here', []],
    ])('should find the expressions of %s as Port does', (text, expected) => {
      expect(findTemplateRanges(text).map(({ start, end }) => text.slice(start, end))).toEqual(expected);
    });

    it.each([
      ['{{ .a', /opening double braces in index 0 without closing/],
      ['.a }}', /closing double braces in index 3 without opening/],
      ['{{ {{ .a }} }}', /double braces in index 3 inside other one in index 0/],
    ])('should refuse %s with Port\'s message', (text, message) => {
      expect(() => findTemplateRanges(text)).toThrow(message);
    });
  });

  describe('compileTemplate', () => {
    it('should report unbalanced braces as a TemplateError naming the field', () => {
      expect(() => compileTemplate({ text: 'oops {{ .a' }, 'do[0].slack', () => 0)).toThrow(
        expect.objectContaining({ field: 'do[0].slack.text', message: expect.stringContaining('without closing double braces') }),
      );
    });

    it('should hand every expression to the sink with its field, keys included', () => {
      const seen: string[] = [];
      compileTemplate({ '{{ .k }}': ['{{ .a }} and {{ .b }}'] }, 'do[1].http.body', (source, field) => seen.push(`${field}:${source.trim()}`) - 1);
      expect(seen).toEqual(['do[1].http.body.{{ .k }} (key):.k', 'do[1].http.body.{{ .k }}[0]:.a', 'do[1].http.body.{{ .k }}[0]:.b']);
    });
  });
});
