import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { resolveSecrets } from '../../rules/secret-placeholders';
import type { RenderedAction } from '../../rules/rule.types';
import { TargetPacer } from '../target-pacer';

/** Slack accepts about one message per second per incoming webhook: pace by the resolved webhook URL. */
@Injectable()
export class SlackPacingService {
  constructor(
    private readonly pacer: TargetPacer,
    private readonly config: AppConfig,
  ) {}

  /** When the action may be sent (ms), or undefined when it is not paced. */
  async sendTime(action: RenderedAction): Promise<number | undefined> {
    if (action.type !== 'slack') return undefined;
    return this.pacer.reserve(this.webhookOf(action), this.config.slackMaxPerSecond);
  }

  /** Slack answered 429: the webhook's other messages wait out its Retry-After too, not spend attempts on it. */
  async holdFor(action: RenderedAction, retryAfterMs: number): Promise<void> {
    if (action.type !== 'slack' || retryAfterMs <= 0) return;
    await this.pacer.holdUntil(this.webhookOf(action), Date.now() + retryAfterMs);
  }

  /** Whether a send at `atMs` falls in a hold on its webhook (then it takes a new slot, after the hold). */
  heldPast(action: RenderedAction, atMs: number): boolean {
    if (action.type !== 'slack' || !this.pacer.holding) return false;
    return this.pacer.heldPast(this.webhookOf(action), atMs);
  }

  private webhookOf(action: RenderedAction & { type: 'slack' }): string {
    return String(resolveSecrets(action.webhookUrl ?? this.config.slack.defaultWebhookUrl ?? '', this.config.ruleVariables));
  }
}
