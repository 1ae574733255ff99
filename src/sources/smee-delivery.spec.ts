import { smeeDelivery } from './smee-delivery';

describe(smeeDelivery.name, () => {
  const body = { action: 'UPDATE', resourceType: 'entity' };

  it('should forward the body re-serialised and every other key but smee\'s own as a header', () => {
    const data = JSON.stringify({ 'X-Port-Signature': 'v1,abc', 'x-port-timestamp': '1700000000', host: 'smee.io', 'content-length': '99', body, query: { a: '1' }, timestamp: 1 });

    expect(smeeDelivery(data)).toEqual({
      headers: { 'content-type': 'application/json', 'x-port-signature': 'v1,abc', 'x-port-timestamp': '1700000000' },
      body: JSON.stringify(body),
    });
  });

  it.each([
    ['no data', undefined, 'no data'],
    ['data that is not JSON', 'not json', 'its data is not JSON'],
    ['null', 'null', 'its data is not a JSON object'],
    ['a list', '[1,2]', 'its data is not a JSON object'],
    ['a message with no body', '{"x-port-timestamp":"1"}', 'it carries no body'],
  ])('should skip %s, saying why without quoting it', (_name, data, skip) => {
    expect(smeeDelivery(data)).toEqual({ skip });
  });

  it('should leave out a key that cannot be a header, or a value that is not one line of text', () => {
    const data = JSON.stringify({ 'bad name': 'x', 'x-split': 'a\r\nInjected: 1', 'x-number': 5, 'x-ok': 'fine', body });

    expect(smeeDelivery(data)).toEqual({ headers: { 'content-type': 'application/json', 'x-ok': 'fine' }, body: JSON.stringify(body) });
  });

  it('should forward a body that is a JSON string as smee-client does (the route then refuses it)', () => {
    expect(smeeDelivery('{"body":"just a string"}')).toEqual({ headers: { 'content-type': 'application/json' }, body: '"just a string"' });
  });
});
