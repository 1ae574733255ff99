import { Injectable } from '@nestjs/common';
import type { SlackActionSpec } from '../../rules/rule.types';
import { resolveSecrets, type SecretEnv } from '../../rules/secret-placeholders';
import { PermanentActionError } from '../action-errors';
import type { ActionDispatcher, DispatchContext, DispatchResult } from '../action-dispatcher';
import { OutboundHttpClient } from '../http/outbound-http.client';
import { slackLabel } from '../http/target-label';
import { slackText } from './slack-message.builder';

export interface SlackDispatcherConfig {
  /** `SLACK_WEBHOOK_URL`: used when the action names no `webhookUrl`. */
  defaultWebhookUrl?: string;
  /** Values for `${NAME}` placeholders still present in the rendered action. */
  env: SecretEnv;
}

/**
 * Posts `slack` actions to an incoming webhook.
 * Not `@slack/webhook`: its IncomingWebhookHTTPError drops the response headers, so a 429's Retry-After would be lost.
 */
@Injectable()
export class SlackDispatcher implements ActionDispatcher<SlackActionSpec> {
  readonly type = 'slack' as const;

  constructor(
    private readonly client: OutboundHttpClient,
    private readonly config: SlackDispatcherConfig,
  ) {}

  async dispatch(action: SlackActionSpec, context: DispatchContext): Promise<DispatchResult> {
    const { type: _type, webhookUrl, ...message } = resolveSecrets(action, this.config.env);
    message.text = slackText(message.text);
    if (message.text === undefined) delete message.text;
    if (message.text === undefined && message.blocks === undefined && message.attachments === undefined) {
      throw new PermanentActionError(`slack action of rule ${context.ruleId} has no text, blocks or attachments`);
    }
    const url = webhookUrl || this.config.defaultWebhookUrl;
    if (!url) throw new PermanentActionError('slack action has no webhookUrl and SLACK_WEBHOOK_URL is not set');
    const label = `slack ${labelOf(url)}`;
    const headers = { 'user-agent': 'changelog-reactor' };
    const response = await this.client.request({ method: 'POST', url, headers, body: message, label, reasonFromBody: slackErrorCode });
    // Redirects are not followed (the egress guard vets one address): for Slack, a 3xx means nothing was posted.
    if (response.statusCode >= 300) {
      throw new PermanentActionError(`${label} -> ${response.statusCode}: a redirect, so nothing was posted (Slack never redirects a webhook: check the URL)`, response.statusCode);
    }
    return { statusCode: response.statusCode, summary: `${label} -> ${response.statusCode}` };
  }
}

/**
 * Slack's `text` is a string: a number or boolean rendered from the event is sent as its text, null
 * (`{{ .missing }}`) as no text (a message with nothing else then fails: nothing to send); an object
 * or array fails for good, as Slack would refuse it.
 */

function labelOf(url: string): string {
  try {
    return slackLabel(new URL(url));
  } catch {
    throw new PermanentActionError(`slack webhook URL is not valid${url.includes('${') ? ' (unresolved ${NAME} placeholder)' : ''}`);
  }
}

// Slack answers errors with a bare code such as `no_service` or `invalid_payload`; anything else is not quoted.
function slackErrorCode(body: string): string | undefined {
  const trimmed = body.trim();
  return /^[a-z_]{1,64}$/.test(trimmed) ? trimmed : undefined;
}
