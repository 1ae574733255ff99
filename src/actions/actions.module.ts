import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { ActionDispatcher } from './action-dispatcher';
import { ACTION_DISPATCHERS, ActionRouter } from './action-router.service';
import { ActionRunnerService } from './action-runner.service';
import { HttpDispatcher } from './http/http.dispatcher';
import { OutboundHttpClient } from './http/outbound-http.client';
import { PortApiClient } from './port/port-api.client';
import { PortDispatcher } from './port/port.dispatcher';
import { SlackDispatcher } from './slack/slack.dispatcher';
import { SlackPacingService } from './slack/slack-pacing.service';
import { TargetPacer } from './target-pacer';

const SLACK_HTTP_CLIENT = Symbol('SLACK_HTTP_CLIENT');

/**
 * Slack webhooks may go to hooks.slack.com, to the host of SLACK_WEBHOOK_URL, and to the
 * HTTP_ACTION_ALLOWED_HOSTS list: the operator configured each of those.
 */
function slackAllowedHosts(config: AppConfig): string[] {
  const defaultHost = config.slack.defaultWebhookUrl ? new URL(config.slack.defaultWebhookUrl).host : undefined;
  return ['hooks.slack.com', ...(defaultHost ? [defaultHost] : []), ...config.httpActionAllowedHosts];
}

@Module({
  providers: [
    {
      provide: OutboundHttpClient,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => new OutboundHttpClient({ allowedHosts: config.httpActionAllowedHosts }),
    },
    {
      provide: SLACK_HTTP_CLIENT,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => new OutboundHttpClient({ allowedHosts: slackAllowedHosts(config) }),
    },
    {
      provide: PortApiClient,
      inject: [AppConfig],
      useFactory: (config: AppConfig) =>
        new PortApiClient({ baseUrl: config.port.apiUrl, clientId: config.port.clientId, clientSecret: config.port.clientSecret }),
    },
    {
      provide: ACTION_DISPATCHERS,
      inject: [AppConfig, OutboundHttpClient, SLACK_HTTP_CLIENT, PortApiClient],
      useFactory: (config: AppConfig, http: OutboundHttpClient, slackHttp: OutboundHttpClient, port: PortApiClient): ActionDispatcher[] => [
        new HttpDispatcher(http, { env: config.ruleVariables }) as ActionDispatcher,
        new SlackDispatcher(slackHttp, { defaultWebhookUrl: config.slack.defaultWebhookUrl, env: config.ruleVariables }) as ActionDispatcher,
        new PortDispatcher(port, { env: config.ruleVariables }) as ActionDispatcher,
      ],
    },
    ActionRouter,
    ActionRunnerService,
    TargetPacer,
    SlackPacingService,
  ],
  exports: [ActionRunnerService, SlackPacingService],
})
export class ActionsModule {}
