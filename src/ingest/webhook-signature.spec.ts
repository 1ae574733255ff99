import { readSampleText } from '../../test/support/port-samples';
import { signPortWebhook, SignatureResult, verifyPortSignature, VerifySignatureInput } from './webhook-signature';

function parseVector(text: string) {
  const line = (pattern: RegExp): string => {
    const match = pattern.exec(text);
    if (!match) throw new Error(`test vector has no line matching ${pattern}`);
    return match[1];
  };
  return {
    secret: line(/^# secret: (\S+)$/m),
    timestamp: line(/^# timestamp \(X-Port-Timestamp\): (\d+)$/m),
    signature: line(/^# expected X-Port-Signature: (\S+)$/m),
    body: line(/^(\{.*\})$/m),
  };
}

const vector = parseVector(readSampleText('signature-test-vector-port-agent.txt'));
const nowMs = Number(vector.timestamp) * 1000;
const MINUTE = 60_000;

/** A valid delivery of the test vector, which each case then breaks (or not) in one way. */
const base: VerifySignatureInput = {
  secret: vector.secret,
  rawBody: vector.body,
  signatureHeader: vector.signature,
  timestampHeader: vector.timestamp,
  nowMs,
};

const pretty = JSON.stringify(JSON.parse(vector.body), null, 2);
const tampered = vector.body.replace('"TRIGGERED"', '"SUCCESS"');
const tsMs = String(nowMs + 123);
const digestOf = (signature: string) => signature.slice('v1,'.length);
const shortDigest = Buffer.alloc(16).toString('base64');

/** Port-agent signs Python's compact json.dumps (non-ASCII as \uXXXX) but sends `requests(json=)` spacing. */
const accented = { action: 'UPDATE', context: { entity: 'café-svc', blueprint: 'service' }, note: 'naïve ☃' };
const pythonCompact = JSON.stringify(accented).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
const pythonSpaced = pythonCompact.replace(/":/g, '": ').replace(/,"/g, ', "');

describe('signPortWebhook', () => {
  it('should reproduce the port-agent test vector', () => {
    expect(signPortWebhook(vector.secret, vector.timestamp, vector.body)).toBe(vector.signature);
  });
});

describe('verifyPortSignature', () => {
  const cases: Array<[string, Partial<VerifySignatureInput>, SignatureResult]> = [
    ['the test vector as a string', {}, { ok: true }],
    ['the test vector as a Buffer', { rawBody: Buffer.from(vector.body) }, { ok: true }],
    ['a timestamp in milliseconds', { timestampHeader: tsMs, signatureHeader: signPortWebhook(vector.secret, tsMs, vector.body) }, { ok: true }],
    ['a timestamp 4 minutes old', { nowMs: nowMs + 4 * MINUTE }, { ok: true }],
    ['a timestamp 6 minutes old', { nowMs: nowMs + 6 * MINUTE }, { ok: false, reason: 'stale-timestamp' }],
    ['a timestamp 6 minutes ahead', { nowMs: nowMs - 6 * MINUTE }, { ok: false, reason: 'stale-timestamp' }],
    ['a custom tolerance exceeded', { nowMs: nowMs + 2000, toleranceMs: 1000 }, { ok: false, reason: 'stale-timestamp' }],
    ['no signature header', { signatureHeader: undefined }, { ok: false, reason: 'missing-signature' }],
    ['a blank signature header', { signatureHeader: '   ' }, { ok: false, reason: 'missing-signature' }],
    ['no timestamp header', { timestampHeader: undefined }, { ok: false, reason: 'missing-timestamp' }],
    ['an empty timestamp header', { timestampHeader: '' }, { ok: false, reason: 'missing-timestamp' }],
    ['a non-numeric timestamp', { timestampHeader: 'yesterday' }, { ok: false, reason: 'bad-timestamp' }],
    ['a negative timestamp', { timestampHeader: '-1713277889' }, { ok: false, reason: 'bad-timestamp' }],
    ['an ISO timestamp', { timestampHeader: '2024-04-16T14:31:29Z' }, { ok: false, reason: 'bad-timestamp' }],
    ['a wrong secret', { secret: 'not-test' }, { ok: false, reason: 'bad-signature' }],
    ['an empty secret', { secret: '' }, { ok: false, reason: 'bad-signature' }],
    ['a tampered body', { rawBody: tampered }, { ok: false, reason: 'bad-signature' }],
    ['a tampered parsed body with a pretty raw body', { rawBody: pretty, parsedBody: JSON.parse(tampered) }, { ok: false, reason: 'bad-signature' }],
    ['a pretty-printed raw body (re-serialised)', { rawBody: pretty }, { ok: true }],
    ['a pretty-printed raw Buffer with the parsed body', { rawBody: Buffer.from(pretty), parsedBody: JSON.parse(pretty) }, { ok: true }],
    ['the signature from another timestamp', { timestampHeader: String(Number(vector.timestamp) + 1) }, { ok: false, reason: 'bad-signature' }],
    ['several signatures, the last valid', { signatureHeader: `v1,${shortDigest} v1,${digestOf(signPortWebhook('x', vector.timestamp, vector.body))}  ${vector.signature}` }, { ok: true }],
    ['several signatures, none valid', { signatureHeader: `v1,${digestOf(signPortWebhook('x', vector.timestamp, vector.body))} v1,${shortDigest}` }, { ok: false, reason: 'bad-signature' }],
    ['the right digest under another version', { signatureHeader: `v2,${digestOf(vector.signature)}` }, { ok: false, reason: 'bad-signature' }],
    ['the bare digest without a version', { signatureHeader: digestOf(vector.signature) }, { ok: false, reason: 'bad-signature' }],
    ['the right digest with a trailing character', { signatureHeader: `${vector.signature}x` }, { ok: false, reason: 'bad-signature' }],
    ['garbage', { signatureHeader: 'garbage' }, { ok: false, reason: 'bad-signature' }],
    ['an empty v1', { signatureHeader: 'v1,' }, { ok: false, reason: 'bad-signature' }],
    ['invalid base64', { signatureHeader: 'v1,!!!!not*base64!!!!' }, { ok: false, reason: 'bad-signature' }],
    ['a too-short digest', { signatureHeader: `v1,${shortDigest}` }, { ok: false, reason: 'bad-signature' }],
    ['commas only', { signatureHeader: ',,, ,' }, { ok: false, reason: 'bad-signature' }],
    ['a non-JSON raw body', { rawBody: 'not json {' }, { ok: false, reason: 'bad-signature' }],
    ['an empty raw body', { rawBody: '' }, { ok: false, reason: 'bad-signature' }],
    ['a port-agent relay of a non-ASCII body', { rawBody: pythonSpaced, signatureHeader: signPortWebhook(vector.secret, vector.timestamp, pythonCompact) }, { ok: true }],
    ['a smee relay of a non-ASCII body', { rawBody: JSON.stringify(accented, null, 2), signatureHeader: signPortWebhook(vector.secret, vector.timestamp, JSON.stringify(accented)) }, { ok: true }],
  ];

  it.each(cases)('should judge %s', (_name, overrides, expected) => {
    expect(verifyPortSignature({ ...base, ...overrides })).toEqual(expected);
  });

  it('should check the timestamp against the clock when no nowMs is given', () => {
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signatureHeader = signPortWebhook('s', timestamp, '{}');
    expect(verifyPortSignature({ secret: 's', rawBody: '{}', signatureHeader, timestampHeader: timestamp })).toEqual({ ok: true });
    expect(verifyPortSignature({ ...base, nowMs: undefined })).toEqual({ ok: false, reason: 'stale-timestamp' });
  });
});
