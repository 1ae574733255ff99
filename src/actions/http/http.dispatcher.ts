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
        ...resolved.headers,
      },
      body: resolved.body,
      timeoutMs: action.timeoutMs,
      label,
    });
    return { statusCode: response.statusCode, summary: `${label} -> ${response.statusCode}` };
  }
}

function labelOf(template: string, resolvedUrl: string): string {
  try {
    return targetLabel(template, new URL(resolvedUrl));
  } catch {
    throw new PermanentActionError('http action: the URL is not valid');
  }
}
