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
    const url = resolveSecrets(action.webhookUrl ?? this.config.slack.defaultWebhookUrl ?? '', this.config.ruleVariables);
    return this.pacer.reserve(String(url), this.config.slackMaxPerSecond);
  }
}
