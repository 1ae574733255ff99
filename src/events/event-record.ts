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

export function eventStatus(record: Pick<EventRecord, 'evaluatedAt' | 'actions'>): EventStatus {
  if (!record.evaluatedAt) return 'queued';
  if (record.actions.length === 0) return 'no-match';
  if (record.actions.some((action) => action.status === 'failed')) return 'failed';
  if (record.actions.every((action) => action.status === 'succeeded')) return 'succeeded';
  return 'dispatching';
}
