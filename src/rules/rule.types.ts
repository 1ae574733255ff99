/** A `when` condition as written in the rules file (after validation). */
export type RuleCondition =
  | { kind: 'changed'; path: string; from?: unknown[]; to?: unknown[] }
  | { kind: 'crosses'; path: string; above?: number; below?: number }
  | { kind: 'jq'; expression: string };

export interface SlackActionSpec {
  type: 'slack';
  /** Template; defaults to SLACK_WEBHOOK_URL when omitted. */
  webhookUrl?: string;
  text?: string;
  blocks?: unknown[];
  [key: string]: unknown;
}

export interface HttpActionSpec {
  type: 'http';
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
  timeoutMs?: number;
}

export interface PortActionSpec {
  type: 'port';
  /** Defaults to the event's blueprint / entity. */
  blueprint?: string;
  entity?: string;
  properties?: Record<string, unknown>;
  relations?: Record<string, unknown>;
  title?: string;
  team?: unknown;
  icon?: string;
}

export type ActionSpec = SlackActionSpec | HttpActionSpec | PortActionSpec;

/** An action after `{{ }}` rendering: same shape, values are concrete. */
export type RenderedAction = ActionSpec;

export interface Rule {
  id: string;
  description?: string;
  /** Empty = every blueprint. */
  blueprints: string[];
  /** Empty = CREATE, UPDATE and DELETE. */
  events: string[];
  when: RuleCondition[];
  do: ActionSpec[];
}

export interface RuleSet {
  rules: Rule[];
  /** Where it was loaded from and when, for logs and readiness. */
  source: string;
  loadedAt: string;
}
