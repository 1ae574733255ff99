import { Injectable } from '@nestjs/common';
import type { HttpActionSpec } from '../../rules/rule.types';
import { resolveSecrets, type SecretEnv } from '../../rules/secret-placeholders';
import { PermanentActionError } from '../action-errors';
import type { ActionDispatcher, DispatchContext, DispatchResult } from '../action-dispatcher';
import { OutboundHttpClient } from './outbound-http.client';
import { targetLabel } from './target-label';

export interface HttpDispatcherConfig {
  /** Values for `${NAME}` placeholders still present in the rendered action. */
  env: SecretEnv;
}

/** Sends `http` actions; each attempt of one action carries the same `Idempotency-Key`. */
@Injectable()
export class HttpDispatcher implements ActionDispatcher<HttpActionSpec> {
  readonly type = 'http' as const;

  constructor(
    private readonly client: OutboundHttpClient,
    private readonly config: HttpDispatcherConfig,
  ) {}

  async dispatch(action: HttpActionSpec, context: DispatchContext): Promise<DispatchResult> {
    const method = (action.method || 'POST').toUpperCase();
    const resolved = resolveSecrets(action, this.config.env);
    const label = `${method} ${labelOf(action.url, resolved.url)}`;
    const response = await this.client.request({
      method,
      url: resolved.url,
      headers: {
        'user-agent': 'changelog-reactor',
        'idempotency-key': context.actionKey,
        ...headerValues(resolved.headers),
      },
      body: resolved.body,
      timeoutMs: action.timeoutMs,
      label,
    });
    if (response.statusCode >= 300 && response.statusCode !== 303) throw notHandled(label, response.statusCode, resolved.url, response.headers.location);
    return { statusCode: response.statusCode, summary: `${label} -> ${response.statusCode}` };
  }
}

// What an HTTP/1.1 header value may hold (undici's own check): tab, visible ASCII, Latin-1.
const HEADER_VALUE_UNSENDABLE = /[^\t\x20-\x7e\x80-\xff]/;

/**
 * A header's value is text. One rendered from the event as a number or boolean is sent as its text,
 * one rendered null is left out (the header is not sent); an object or array, or text a header
 * cannot carry (a line break, "東京"), fails the action for good with a message naming the header,
 * rather than go out as "[object Object]" or fail in the HTTP client with an opaque "invalid request".
 * Also run by `rules test`, so it shows the failure before any event does.
 */
export function headerValues(headers: Record<string, unknown> | undefined): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === null || value === undefined) continue;
    if (typeof value === 'object') throw new PermanentActionError(`header ${name} rendered ${Array.isArray(value) ? 'an array' : 'an object'}, not text (render it with tojson for its JSON)`);
    const text = String(value);
    if (HEADER_VALUE_UNSENDABLE.test(text)) {
      throw new PermanentActionError(`header ${name} rendered text an HTTP header cannot carry (a line break or control character, or a character beyond Latin-1 such as an emoji or CJK): encode it, e.g. with @uri`);
    }
    values[name] = text;
  }
  return values;
}

/**
 * Redirects are not followed (the egress guard vets one address, and a token is not carried to
 * another host). 303 See Other is a target's "done, the result is there"; any other 3xx (301, 302,
 * 307, 308) says the request was not handled at this URL, so it fails for good and says where the
 * target points: its scheme and host only, as a path or query may hold a secret.
 */
function notHandled(label: string, statusCode: number, requested: string, location: string | string[] | undefined): PermanentActionError {
  return new PermanentActionError(`${label} -> ${statusCode}: redirects to ${whereItPoints(location, requested)}, not followed, so the request was not handled (fix the action's URL)`, statusCode);
}

function whereItPoints(location: string | string[] | undefined, requested: string): string {
  if (!location) return 'no Location given';
  try {
    const target = new URL(String(location), requested);
    return target.origin === new URL(requested).origin ? 'another path of the same host' : target.origin;
  } catch {
    return 'an unreadable Location';
  }
}

function labelOf(template: string, resolvedUrl: string): string {
  try {
    return targetLabel(template, new URL(resolvedUrl));
  } catch {
    throw new PermanentActionError('http action: the URL is not valid');
  }
}
