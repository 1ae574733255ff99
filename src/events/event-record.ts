import type { Change, ChangeEvent } from '../changes/change-event';

export type ActionStatus = 'queued' | 'retrying' | 'succeeded' | 'failed';
export type EventStatus = 'queued' | 'no-match' | 'dispatching' | 'succeeded' | 'failed';

/** What happened to one action of one matched rule. Never holds a secret. */
export interface ActionRecord {
  key: string;
  ruleId: string;
  actionIndex: number;
  /** 0 for the first evaluation, n for the n-th replay. */
  replay: number;
  type: string;
  status: ActionStatus;
  attempts: number;
  lastError?: { statusCode?: number; message: string };
  /** An action held back before its next attempt (queued or retrying): why, and until when (it then runs). */
  waiting?: { reason: string; until: string };
  result?: { statusCode?: number; summary: string };
  queuedAt: string;
  updatedAt: string;
}

/** The operator's view of one event: `GET /events/:eventId`. */
export interface EventRecord {
  eventId: string;
  status: EventStatus;
  source: ChangeEvent['source'];
  action: string;
  resourceType: string;
  blueprint: string | null;
  entity: string | null;
  receivedAt: string;
  evaluatedAt?: string;
  changes: Change[];
  matchedRules: string[];
  ruleFailures: { ruleId: string; error: string }[];
  replays: number;
  actions: ActionRecord[];
}

/**
 * The status of the event's latest run that queued actions (the first delivery, or the latest such
 * replay): a replay that fixes a failed event makes it `succeeded`, and shows `dispatching` while
 * it runs. Earlier runs' actions stay listed with their own statuses.
 */
export function eventStatus(record: Pick<EventRecord, 'evaluatedAt' | 'actions'>): EventStatus {
  if (!record.evaluatedAt) return 'queued';
  if (record.actions.length === 0) return 'no-match';
  const latest = Math.max(...record.actions.map((action) => action.replay));
  const actions = record.actions.filter((action) => action.replay === latest);
  if (actions.some((action) => action.status === 'failed')) return 'failed';
  if (actions.every((action) => action.status === 'succeeded')) return 'succeeded';
  return 'dispatching';
}
