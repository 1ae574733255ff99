import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import Redis from 'ioredis';
import type { Change, ChangeEvent } from '../changes/change-event';
import { LuaScript } from '../common/lua-script';
import { isRedisUnavailable } from '../common/redis-unavailable';
import { AppConfig } from '../config/app-config';
import { logErrorsOnce, PRODUCER_REDIS } from '../queue/producer-redis.provider';
import { adminReadRedisOptions } from '../queue/redis-options';
import { ActionRecord, EventRecord, EventStatus, eventStatus } from './event-record';

export interface EvaluationRecord {
  evaluatedAt: string;
  changes: Change[];
  matchedRules: string[];
  ruleFailures: { ruleId: string; error: string }[];
}

export interface RecordQuery {
  entity?: string;
  rule?: string;
  status?: EventStatus;
  limit: number;
  /**
   * The page cursor: `ms` lists events received before that time; `ms:eventId` (a page's
   * `nextBefore`) those after that event in the listing's order, so events received in the same
   * millisecond are neither skipped nor repeated across pages.
   */
  before?: string;
}

/** A position in the index: its score (receipt time, ms) and, to order events of one ms, its member. */
interface ListCursor {
  score: string;
  id?: string;
}

const ACTION_FIELD = 'action:';
const SCAN_BATCH = 100;
const SCAN_MAX = 2_000;
/** An action entry Redis refused (away, out of memory) is written again this often, for this long. */
const REWRITE_EVERY_MS = 2_000;
const REWRITE_FOR_MS = 15 * 60_000;
/** At most this many entries wait to be written again; past it the oldest is given up. */
const REWRITE_MAX = 10_000;

// One call per evaluation (a MULTI of five commands cost five times the client CPU). A first
// delivery (KEYS[3] given) is recorded only if its event id was not delivered within the dedupe
// window: SET NX marks it and says so, and a redelivery writes nothing. HSETNX: an action a worker
// already updated keeps its entry. Entries past retention leave the index.
const RECORD_EVALUATION = new LuaScript(`
if KEYS[3] and not redis.call('SET', KEYS[3], '1', 'NX', 'EX', ARGV[7]) then return 0 end
redis.call('HSET', KEYS[1], 'event', ARGV[1], 'evaluation', ARGV[2])
for i = 8, #ARGV, 2 do redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[6])
return 1`);

// A held-back action's entry gets why and until when and keeps the rest, a retrying action's last
// error included. An entry already finished (or gone with its record) is left alone. `until` is a
// Lua keyword, hence the brackets.
const NOTE_WAITING = new LuaScript(`
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local entry = cjson.decode(raw)
if entry.status ~= 'queued' and entry.status ~= 'retrying' then return 0 end
entry.waiting = { reason = ARGV[2], ['until'] = ARGV[3] }
entry.updatedAt = ARGV[4]
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(entry))
return 1`);

// An action's entry, only into a record still kept: an update after the record's retention would
// leave a record of one field that never expires. ARGV[3], on a write made again after Redis refused
// it: the entry's time, so that it never replaces a newer entry.
const UPDATE_ACTION = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[3] then
  local raw = redis.call('HGET', KEYS[1], ARGV[1])
  if raw and cjson.decode(raw).updatedAt > ARGV[3] then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`);

interface PendingRewrite {
  eventId: string;
  action: ActionRecord;
  since: number;
}

/**
 * Event records in Redis: one hash per event (each action its own field, so concurrent workers
 * never overwrite each other) and a sorted set by receipt time for listing. Expire after retention.
 */
@Injectable()
export class EventRecordStore implements OnModuleDestroy {
  private readonly logger = new Logger(EventRecordStore.name);
  /** The admin API's reads: see adminReadRedisOptions. Made on first read (workers never read). */
  private reader?: Redis;
  /** Action entries Redis refused, by event and action: the newest of each, written again every 2 s. */
  private readonly rewrites = new Map<string, PendingRewrite>();
  private rewriteTimer?: NodeJS.Timeout;
  private rewriting?: Promise<void>;

  constructor(
    @Inject(PRODUCER_REDIS) private readonly redis: Redis,
    private readonly config: AppConfig,
  ) {}

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.rewriteTimer);
    await this.rewriting;
    if (this.rewrites.size > 0) await this.rewritePending();
    if (this.rewrites.size > 0) this.logger.warn(`${this.rewrites.size} action record entries Redis refused are lost at shutdown (their jobs' states in Bull Board are right)`);
    await this.reader?.quit().catch(() => this.reader?.disconnect());
  }

  /**
   * Writes the event and its evaluation. With `firstDelivery`, only when the event id was not
   * delivered within DEDUPE_TTL_SECONDS: resolves false (and writes nothing) for a redelivery.
   */
  async recordEvaluation(event: ChangeEvent, evaluation: EvaluationRecord, actions: ActionRecord[], options: { firstDelivery: boolean }): Promise<boolean> {
    const retention = this.config.eventRetentionSeconds;
    const keys = [this.key(event.id), this.indexKey()];
    if (options.firstDelivery) keys.push(this.deliveredKey(event.id));
    const args: (string | number)[] = [JSON.stringify(event), JSON.stringify(evaluation), retention, Date.parse(event.receivedAt), event.id, Date.now() - retention * 1000, this.config.dedupeTtlSeconds];
    for (const action of actions) args.push(ACTION_FIELD + action.key, JSON.stringify(action));
    return (await RECORD_EVALUATION.run(this.redis, keys, args)) === 1;
  }

  /**
   * `via`: another connection to write on (a worker's own, so the update leaves with BullMQ's next
   * command). A write Redis refuses (away, out of memory: the job itself may still move on) is made
   * again every 2 s for up to 15 minutes, unless a newer entry for the action is written meanwhile, so
   * a record does not stay `queued` for an action that ran. Rejects all the same, for the caller's log.
   */
  async updateAction(eventId: string, action: ActionRecord, via: Redis = this.redis): Promise<void> {
    try {
      await UPDATE_ACTION.run(via, [this.key(eventId)], [ACTION_FIELD + action.key, JSON.stringify(action)]);
    } catch (error) {
      if (isRedisUnavailable(error)) this.rewriteLater(eventId, action);
      throw error;
    }
  }

  /** How many action entries wait to be written again (see updateAction). */
  get pendingRewrites(): number {
    return this.rewrites.size;
  }

  private rewriteLater(eventId: string, action: ActionRecord): void {
    const id = `${eventId} ${action.key}`;
    const previous = this.rewrites.get(id);
    if (previous && previous.action.updatedAt > action.updatedAt) return;
    if (!previous && this.rewrites.size >= REWRITE_MAX) {
      const [oldest, given] = this.rewrites.entries().next().value as [string, PendingRewrite];
      this.rewrites.delete(oldest);
      this.logger.warn({ eventId: given.eventId }, `action record entry given up: ${REWRITE_MAX} entries already wait for Redis to take writes`);
    }
    this.rewrites.set(id, { eventId, action, since: previous?.since ?? Date.now() });
    this.rewriteTimer ??= setInterval(() => void this.rewritePending(), REWRITE_EVERY_MS).unref();
  }

  private rewritePending(): Promise<void> {
    this.rewriting ??= this.rewriteAll().finally(() => (this.rewriting = undefined));
    return this.rewriting;
  }

  private async rewriteAll(): Promise<void> {
    let written = 0;
    for (const [id, pending] of this.rewrites) {
      const { eventId, action } = pending;
      try {
        if ((await UPDATE_ACTION.run(this.redis, [this.key(eventId)], [ACTION_FIELD + action.key, JSON.stringify(action), action.updatedAt])) === 1) written += 1;
      } catch (error) {
        if (isRedisUnavailable(error) && Date.now() - pending.since < REWRITE_FOR_MS) break; // still refused: next time
        this.logger.warn({ eventId }, `action record entry given up after ${Math.round((Date.now() - pending.since) / 1000)} s: ${(error as Error).message}`);
      }
      if (this.rewrites.get(id) === pending) this.rewrites.delete(id);
    }
    if (written > 0) this.logger.log(`${written} action record entries written again after Redis refused them`);
    if (this.rewrites.size === 0) {
      clearInterval(this.rewriteTimer);
      this.rewriteTimer = undefined;
    }
  }

  /** Notes on an action not run yet why and until when (`until`: ISO time); `via` as for updateAction. */
  async noteWaiting(eventId: string, actionKey: string, waiting: { reason: string; until: string }, via: Redis = this.redis): Promise<void> {
    await NOTE_WAITING.run(via, [this.key(eventId)], [ACTION_FIELD + actionKey, waiting.reason, waiting.until, new Date().toISOString()]);
  }

  async nextReplay(eventId: string): Promise<number> {
    return this.redis.hincrby(this.key(eventId), 'replays', 1);
  }

  async storedEvent(eventId: string): Promise<ChangeEvent | undefined> {
    const raw = await this.reads().hget(this.key(eventId), 'event');
    return raw ? (JSON.parse(raw) as ChangeEvent) : undefined;
  }

  async get(eventId: string): Promise<EventRecord | undefined> {
    const fields = await this.reads().hgetall(this.key(eventId));
    return fields.event ? toRecord(fields) : undefined;
  }

  /**
   * Newest first. Walks the index (receipt time, then event id descending, as Redis orders equal
   * scores) from the cursor, at most SCAN_MAX entries; `nextBefore` is where the walk stopped,
   * whenever it did not reach the end (a filtered page may hold fewer than `limit` items).
   */
  async list(query: RecordQuery): Promise<{ items: EventRecord[]; nextBefore?: string }> {
    // Recording an event trims the index; after a quiet spell its entries point at expired records.
    await this.redis.zremrangebyscore(this.indexKey(), '-inf', Date.now() - this.config.eventRetentionSeconds * 1000);
    const items: EventRecord[] = [];
    const cursor = parseCursor(query.before);
    // ZREVRANGEBYSCORE from `max` (inclusive unless it starts with "("), skipping `offset` entries of that score.
    let max = cursor ? (cursor.id === undefined ? `(${cursor.score}` : cursor.score) : '+inf';
    let offset = cursor?.id === undefined ? 0 : await this.sameScoreNotAfter(cursor.score, cursor.id);
    let last: ListCursor | undefined;
    for (let scanned = 0; scanned < SCAN_MAX && items.length < query.limit; scanned += SCAN_BATCH) {
      const page: string[] = await this.reads().zrevrangebyscore(this.indexKey(), max, '-inf', 'WITHSCORES', 'LIMIT', offset, SCAN_BATCH);
      if (page.length === 0) return { items };
      const entries = Array.from({ length: page.length / 2 }, (_, i) => ({ id: page[2 * i], score: page[2 * i + 1] }));
      const records = await Promise.all(entries.map(({ id }) => this.get(id)));
      for (let i = 0; i < entries.length && items.length < query.limit; i += 1) {
        last = entries[i];
        const record = records[i];
        if (record && matches(record, query)) items.push(record);
      }
      const lastScore = entries[entries.length - 1].score;
      const sameInPage = entries.filter((entry) => entry.score === lastScore).length;
      offset = max === lastScore ? offset + sameInPage : sameInPage;
      max = lastScore;
    }
    return { items, nextBefore: last && (await this.anyAfter(last)) ? `${last.score}:${last.id}` : undefined };
  }

  /** How many entries of `score` come before or at `id` in the listing's order (Redis: members descending). */
  private async sameScoreNotAfter(score: string, id: string): Promise<number> {
    const same: string[] = await this.reads().zrevrangebyscore(this.indexKey(), score, score);
    return same.filter((member) => Buffer.compare(Buffer.from(member), Buffer.from(id)) >= 0).length;
  }

  private async anyAfter(position: ListCursor): Promise<boolean> {
    const offset = await this.sameScoreNotAfter(position.score, position.id!);
    const next: string[] = await this.reads().zrevrangebyscore(this.indexKey(), position.score, '-inf', 'LIMIT', offset, 1);
    return next.length > 0;
  }

  private reads(): Redis {
    this.reader ??= logErrorsOnce(new Redis(adminReadRedisOptions(this.config.redis.url)), 'admin read connection');
    return this.reader;
  }

  private key(eventId: string): string {
    return `${this.config.queuePrefix}:record:${eventId}`;
  }

  /** Set on an event's first delivery, kept DEDUPE_TTL_SECONDS: it outlives the record's retention when that is shorter. */
  private deliveredKey(eventId: string): string {
    return `${this.config.queuePrefix}:delivered:${eventId}`;
  }

  private indexKey(): string {
    return `${this.config.queuePrefix}:records`;
  }
}

function toRecord(fields: Record<string, string>): EventRecord {
  const event = JSON.parse(fields.event) as ChangeEvent;
  const evaluation = fields.evaluation ? (JSON.parse(fields.evaluation) as EvaluationRecord) : undefined;
  const actions = Object.entries(fields)
    .filter(([name]) => name.startsWith(ACTION_FIELD))
    .map(([, value]) => JSON.parse(value) as ActionRecord)
    .sort((a, b) => a.replay - b.replay || a.ruleId.localeCompare(b.ruleId) || a.actionIndex - b.actionIndex);
  const record: EventRecord = {
    eventId: event.id,
    status: 'queued',
    source: event.source,
    action: event.action,
    resourceType: event.resourceType,
    blueprint: event.blueprint,
    entity: event.entity,
    receivedAt: event.receivedAt,
    evaluatedAt: evaluation?.evaluatedAt,
    changes: evaluation?.changes ?? [],
    matchedRules: evaluation?.matchedRules ?? [],
    ruleFailures: evaluation?.ruleFailures ?? [],
    replays: Number(fields.replays ?? 0),
    actions,
  };
  record.status = eventStatus(record);
  return record;
}

function parseCursor(before: string | undefined): ListCursor | undefined {
  if (before === undefined) return undefined;
  const colon = before.indexOf(':');
  return colon === -1 ? { score: before } : { score: before.slice(0, colon), id: before.slice(colon + 1) };
}

function matches(record: EventRecord, query: RecordQuery): boolean {
  return (
    (!query.entity || record.entity === query.entity) &&
    (!query.rule || record.matchedRules.includes(query.rule)) &&
    (!query.status || record.status === query.status)
  );
}
