import { createHmac, timingSafeEqual } from 'node:crypto';

export const DEFAULT_SIGNATURE_TOLERANCE_MS = 5 * 60 * 1000;

/** Above this a timestamp cannot be seconds (year 5138), so it is read as milliseconds. */
const MS_THRESHOLD = 1e11;
const SHA256_BYTES = 32;
const BASE64_DIGEST = /^[A-Za-z0-9+/]{43}=?$/;

export type SignatureFailure =
  | 'missing-signature'
  | 'missing-timestamp'
  | 'bad-timestamp'
  | 'stale-timestamp'
  | 'bad-signature';

export type SignatureResult = { ok: true } | { ok: false; reason: SignatureFailure };

export interface VerifySignatureInput {
  secret: string;
  rawBody: Buffer | string;
  /** The body as the framework parsed it; saves a second JSON.parse of the raw bytes. */
  parsedBody?: unknown;
  signatureHeader?: string;
  timestampHeader?: string;
  nowMs?: number;
  toleranceMs?: number;
}

export function signPortWebhook(secret: string, timestamp: string, body: string): string {
  return `v1,${digest(secret, timestamp, body).toString('base64')}`;
}

export function verifyPortSignature(input: VerifySignatureInput): SignatureResult {
  const signatureHeader = input.signatureHeader?.trim();
  const timestamp = input.timestampHeader?.trim();
  if (!signatureHeader) return { ok: false, reason: 'missing-signature' };
  if (!timestamp) return { ok: false, reason: 'missing-timestamp' };

  const sentAtMs = parseTimestampMs(timestamp);
  if (sentAtMs === null) return { ok: false, reason: 'bad-timestamp' };
  const now = input.nowMs ?? Date.now();
  if (Math.abs(now - sentAtMs) > (input.toleranceMs ?? DEFAULT_SIGNATURE_TOLERANCE_MS)) {
    return { ok: false, reason: 'stale-timestamp' };
  }

  const candidates = decodeV1Signatures(signatureHeader);
  if (candidates.length === 0) return { ok: false, reason: 'bad-signature' };

  for (const body of signedBodyCandidates(input.rawBody, input.parsedBody)) {
    if (anyMatches(candidates, digest(input.secret, timestamp, body))) return { ok: true };
  }
  return { ok: false, reason: 'bad-signature' };
}

function digest(secret: string, timestamp: string, body: Buffer | string): Buffer {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest();
}

function parseTimestampMs(value: string): number | null {
  // Fractions are tolerated because some senders write Python's `str(time.time())`.
  if (!/^\d{1,16}(\.\d{1,9})?$/.test(value)) return null;
  const n = Number(value);
  return n > MS_THRESHOLD ? n : n * 1000;
}

/** Unknown versions and undecodable values are skipped, so one good v1 among garbage still counts. */
function decodeV1Signatures(header: string): Buffer[] {
  const digests: Buffer[] = [];
  for (const part of header.split(/\s+/)) {
    const comma = part.indexOf(',');
    if (comma < 0 || part.slice(0, comma) !== 'v1') continue;
    const encoded = part.slice(comma + 1);
    // Node's base64 decoder silently drops invalid characters, so the shape is checked first.
    if (!BASE64_DIGEST.test(encoded)) continue;
    const decoded = Buffer.from(encoded, 'base64');
    if (decoded.length === SHA256_BYTES) digests.push(decoded);
  }
  return digests;
}

/** Checks every candidate so the time taken does not depend on which one matched. */
function anyMatches(candidates: Buffer[], expected: Buffer): boolean {
  let matched = false;
  for (const candidate of candidates) matched = timingSafeEqual(candidate, expected) || matched;
  return matched;
}

/**
 * The raw bytes first; then the compact re-serialisation a relay signs (smee, port-agent).
 * port-agent signs Python `json.dumps(separators=(",", ":"))`, which also escapes non-ASCII
 * as \uXXXX, so that spelling is tried too when it differs.
 */
function* signedBodyCandidates(rawBody: Buffer | string, parsedBody: unknown): Generator<Buffer | string> {
  yield rawBody;
  const compact = reserialise(rawBody, parsedBody);
  if (compact === null) return;
  const raw = typeof rawBody === 'string' ? rawBody : rawBody.toString('utf8');
  if (compact !== raw) yield compact;
  const ascii = escapeNonAscii(compact);
  if (ascii !== compact && ascii !== raw) yield ascii;
}

function reserialise(rawBody: Buffer | string, parsedBody: unknown): string | null {
  try {
    const value: unknown = parsedBody ?? JSON.parse(rawBody.toString());
    const text: unknown = JSON.stringify(value);
    return typeof text === 'string' ? text : null;
  } catch {
    return null;
  }
}

function escapeNonAscii(json: string): string {
  return json.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
