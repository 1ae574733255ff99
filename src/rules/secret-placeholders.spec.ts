import { escapePlaceholders, escapePlaceholdersDeep, escapePlaceholdersIn, placeholderNames, resolveSecrets } from './secret-placeholders';

describe('resolveSecrets', () => {
  const env = { TOKEN: 's3cr3t', HOST: 'scaler.internal' };

  it('should replace known names in strings nested in objects and arrays', () => {
    const value = { url: 'https://${HOST}/x', headers: { Authorization: 'Bearer ${TOKEN}' }, list: ['${TOKEN}', 3, null, true] };

    expect(resolveSecrets(value, env)).toEqual({
      url: 'https://scaler.internal/x',
      headers: { Authorization: 'Bearer s3cr3t' },
      list: ['s3cr3t', 3, null, true],
    });
  });

  it('should turn $${NAME} into the literal ${NAME}', () => {
    expect(resolveSecrets('cost: $${TOKEN} and ${TOKEN}', env)).toBe('cost: ${TOKEN} and s3cr3t');
  });

  it('should leave unknown names as written', () => {
    expect(resolveSecrets('${UNKNOWN} ${TOKEN}', env)).toBe('${UNKNOWN} s3cr3t');
  });

  it('should not modify its input', () => {
    const value = { text: '${TOKEN}' };

    resolveSecrets(value, env);

    expect(value.text).toBe('${TOKEN}');
  });
});

describe('placeholderNames', () => {
  it('should list the names to resolve, not the escaped ones', () => {
    expect(placeholderNames('${A} $${B} ${C_1} ${ not} $x')).toEqual(['A', 'C_1']);
  });
});

describe('escapePlaceholders', () => {
  const env = { TOKEN: 's3cr3t' };

  it.each(['${TOKEN}', '$${TOKEN}', '$$${TOKEN}', 'a ${TOKEN} b ${OTHER}', '${ not a name }', 'plain $ text {}'])(
    'should make %s come back unchanged from resolveSecrets',
    (text) => {
      expect(resolveSecrets(escapePlaceholders(text), env)).toBe(text);
    },
  );

  it('should escape every string value of a JSON value, not the keys', () => {
    expect(escapePlaceholdersDeep({ '${K}': ['${TOKEN}', 1, null], n: { t: 'x${TOKEN}' } })).toEqual({ '${K}': ['$${TOKEN}', 1, null], n: { t: 'x$${TOKEN}' } });
  });
});

describe('escapePlaceholdersIn', () => {
  const env = { TOKEN: 's3cr3t', SCALER_TOKEN: 'scaler' };

  it.each([
    ['a placeholder inside the foreign range', 'x ${TOKEN} y', [[2, 10]], 'x ${TOKEN} y'],
    ['a placeholder the foreign text completes', '${SCALER_TOKEN}', [[9, 15]], '${SCALER_TOKEN}'],
    ['a placeholder the foreign text opens', '${SCALER_TOKEN}', [[0, 9]], '${SCALER_TOKEN}'],
    ['a placeholder outside the foreign range', '${TOKEN} and ${TOKEN}', [[9, 12]], 's3cr3t and s3cr3t'],
  ] as [string, string, [number, number][], string][])('should handle %s', (_name, text, foreign, expected) => {
    expect(resolveSecrets(escapePlaceholdersIn(text, foreign), env)).toBe(expected);
  });
});
