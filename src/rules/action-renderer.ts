import { buildDefaultSlackMessage, slackText } from '../actions/slack/slack-message.builder';
import type { Change, ChangeEvent } from '../changes/change-event';
import type { JqOutcome } from './jq-batch';
import type { CompiledAction } from './rule-compiler';
import type { RenderedAction } from './rule.types';
import { escapePlaceholders, escapePlaceholdersDeep } from './secret-placeholders';
import { renderTemplate } from './template';

export interface RenderInput {
  event: ChangeEvent;
  changes: Change[];
  portAppUrl: string;
}

/**
 * Renders one action with its rule's jq results and fills the defaults that depend on the
 * event: the default Slack message, the Port entity to patch. Event data put in by these
 * defaults is escaped like template results (see escapePlaceholders). Throws TemplateError.
 */
export function renderAction(action: CompiledAction, results: JqOutcome[], input: RenderInput): RenderedAction {
  const { spec } = action;
  const rendered = renderTemplate(action.template, results) as Record<string, unknown>;
  if (spec.type === 'http') {
    const timeout = spec.timeoutMs === undefined ? {} : { timeoutMs: spec.timeoutMs };
    return { type: 'http', method: spec.method, ...rendered, ...timeout } as RenderedAction;
  }
  if (spec.type === 'slack') {
    const { text: rawText, ...rest } = rendered;
    const text = slackText(rawText);
    const message = text === undefined ? rest : { ...rest, text };
    return { type: 'slack', ...defaultSlackMessage(message, input), ...message };
  }
  return {
    type: 'port',
    blueprint: escapeOptional(input.event.blueprint),
    entity: escapeOptional(input.event.entity),
    ...rendered,
  } as RenderedAction;
}

function defaultSlackMessage(rendered: Record<string, unknown>, input: RenderInput): Record<string, unknown> {
  if (rendered.text !== undefined || rendered.blocks !== undefined) return {};
  return escapePlaceholdersDeep(buildDefaultSlackMessage(input)) as Record<string, unknown>;
}

function escapeOptional(value: string | null): string | undefined {
  return value === null ? undefined : escapePlaceholders(value);
}
