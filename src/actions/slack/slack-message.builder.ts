import type { Change, ChangeEvent, EntitySnapshot } from '../../changes/change-event';

export interface DefaultSlackMessageInput {
  event: ChangeEvent;
  changes: Change[];
  /** Port web app origin, see `portAppUrlFrom`. */
  portAppUrl: string;
}

export interface SlackMessage {
  /** Plain fallback for notifications and clients without Block Kit. */
  text: string;
  blocks: unknown[];
}

const MAX_CHANGES = 15;
const MAX_VALUE_CHARS = 80;
const ACTION_WORDS: Record<string, string> = { CREATE: 'created', UPDATE: 'updated', DELETE: 'deleted' };

/**
 * The message a `slack` action sends when it has neither `text` nor `blocks`: entity title and
 * blueprint, what happened, each change as `path: before → after`, who did it, and a button to
 * the entity in Port. User data is escaped for Slack mrkdwn.
 */
export function buildDefaultSlackMessage({ event, changes, portAppUrl }: DefaultSlackMessageInput): SlackMessage {
  const title = entityTitle(event);
  const what = ACTION_WORDS[event.action] ?? event.action.toLowerCase().replace(/_/g, ' ');
  const blueprint = event.blueprint ?? 'entity';
  const shown = changes.slice(0, MAX_CHANGES);
  const more = changes.length - shown.length;
  const lines = shown.map((change) => `• ${escape(change.path)}: ${code(change.before)} → ${code(change.after)}`);
  if (more > 0) lines.push(`…and ${more} more`);
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: truncate(`${title} ${what}`, 150), emoji: true } },
    { type: 'context', elements: [mrkdwn(`Blueprint *${escape(blueprint)}* · entity \`${escape(event.entity ?? '?')}\``)] },
    { type: 'section', text: mrkdwn(truncate(lines.join('\n') || 'No property changed.', 3000)) },
    { type: 'context', elements: [mrkdwn(escape(byline(event)))] },
  ];
  const link = entityLink(portAppUrl, event);
  if (link) {
    blocks.push({ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open in Port' }, url: link }] });
  }
  const summary = shown.map((change) => `${change.path}: ${plain(change.before)} → ${plain(change.after)}`);
  const text = `${title} (${blueprint}) ${what}${summary.length ? `: ${summary.join('; ')}` : ''}${more > 0 ? ` and ${more} more` : ''}`;
  return { text: escape(truncate(text, 3000)), blocks };
}

/**
 * The Port web app for a Port API base URL: `https://api.port.io/v1` -> `https://app.port.io`,
 * `https://api.us.port.io/v1` -> `https://app.us.port.io`; any other URL gives its origin, with a
 * leading `api.` replaced by `app.`.
 */
export function portAppUrlFrom(portApiUrl: string): string {
  const url = new URL(portApiUrl);
  const host = url.host.startsWith('api.') ? `app.${url.host.slice(4)}` : url.host;
  return `${url.protocol}//${host}`;
}

function entityTitle(event: ChangeEvent): string {
  const snapshot: EntitySnapshot | null | undefined = event.body.diff?.after ?? event.body.diff?.before;
  if (typeof snapshot?.title === 'string' && snapshot.title) return snapshot.title;
  const identifier = event.entity ?? snapshot?.identifier;
  return typeof identifier === 'string' ? identifier : 'Entity';
}

function byline(event: ChangeEvent): string {
  const trigger = (event.body.trigger ?? {}) as { by?: { userId?: unknown; byPort?: unknown; user?: { email?: unknown } }; origin?: unknown };
  const who = trigger.by?.user?.email ?? trigger.by?.userId ?? (trigger.by?.byPort ? 'Port' : undefined);
  const parts = [who ? `Changed by ${String(who)}` : 'Changed'];
  if (trigger.origin) parts.push(`via ${String(trigger.origin)}`);
  return parts.join(' ');
}

function entityLink(portAppUrl: string, event: ChangeEvent): string | undefined {
  if (!event.blueprint || !event.entity) return undefined;
  const base = portAppUrl.replace(/\/+$/, '');
  return `${base}/${encodeURIComponent(event.blueprint)}Entity?identifier=${encodeURIComponent(event.entity)}`;
}

function plain(value: unknown): string {
  if (value === undefined || value === null) return '∅';
  return truncate(typeof value === 'string' ? value : JSON.stringify(value), MAX_VALUE_CHARS);
}

// A code span keeps values from being read as mrkdwn formatting; a backtick inside would end it.
function code(value: unknown): string {
  return value === undefined || value === null ? '∅' : `\`${escape(plain(value).replace(/`/g, "'"))}\``;
}

function mrkdwn(text: string): { type: 'mrkdwn'; text: string } {
  return { type: 'mrkdwn', text };
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * A Slack `text` as sent: a whole-string `{{ }}` keeps its result's JSON type, and Slack wants text,
 * so a number or boolean is sent as its text and a list or object as its JSON (as `{{ }}` inside
 * text puts them); null (a missing property) is no text, and with no blocks the default message
 * goes instead (see renderAction). Done when rendering, so `rules test` shows what is sent.
 */
export function slackText(text: unknown): string | undefined {
  if (text === null || text === undefined) return undefined;
  return typeof text === 'object' ? JSON.stringify(text) : String(text);
}
