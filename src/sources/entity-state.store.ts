import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import type { ChangeEvent, EntitySnapshot } from '../changes/change-event';
import { LuaScript } from '../common/lua-script';
import { AppConfig } from '../config/app-config';
import { PRODUCER_REDIS } from '../queue/producer-redis.provider';
import { alreadyReported, DELETED_STATE_PREFIX, deletionReported, encodeEntityState, encodeStateUpdate, storedState, type StoredEntityState } from './entity-state';

/** One entity's move from the state a reconcile run compared against to the state it found. */
export interface StateUpdate {
  entity: string;
  /** The raw stored value the run compared against; null = it had none. */
  expected: string | null;
  /** The state to keep; null = the entity is deleted. */
  next: EntitySnapshot | null;
  /**
   * Catch-up queues the change to `next`: kept marked as reported (see entity-state.ts), and a
   * deletion kept as a trace (`encodeDeletedState`) instead of forgotten.
   */
  reported?: boolean;
  /** When catch-up reported it (ms; default now): the time of a deletion's trace. */
  reportedAt?: number;
}

const BATCH = 500;

// Per entity: write only if the stored value is still the one compared against (absent = '').
// A webhook that recorded a newer state meanwhile wins, and the run does not report that change.
const COMPARE_AND_SET = new LuaScript(`
local out = {}
for i = 1, #ARGV, 3 do
  local current = redis.call('HGET', KEYS[1], ARGV[i]) or ''
  if current == ARGV[i + 1] then
    if ARGV[i + 2] == '' then redis.call('HDEL', KEYS[1], ARGV[i]) else redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 2]) end
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out`);

// An UPDATE does not bring back an entity catch-up reported deleted: Port's late UPDATE from before
// the deletion would, and its late DELETE would then run the rules a second time. A CREATE does.
const RECORD = new LuaScript(`
if ARGV[3] == 'UPDATE' and string.sub(redis.call('HGET', KEYS[1], ARGV[1]) or '', 1, ${DELETED_STATE_PREFIX.length}) == '${DELETED_STATE_PREFIX}' then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`);

/**
 * The last state of every entity the service saw, per blueprint: a Redis hash
 * `${prefix}:state:${blueprint}`, field = entity identifier, value = `<fingerprint> <entity JSON>`
 * (see entity-state.ts). Every accepted event updates it; reconcile compares Port's entities with it.
 */
@Injectable()
export class EntityStateStore {
  constructor(
    @Inject(PRODUCER_REDIS) private readonly redis: Redis,
    private readonly config: AppConfig,
  ) {}

  /**
   * After the change: the `after` state on CREATE/UPDATE (an UPDATE leaves the trace of a deletion
   * catch-up reported), forgotten on DELETE (with such a trace); other events are ignored.
   */
  async record(event: ChangeEvent): Promise<void> {
    if (event.resourceType !== 'entity' || !event.blueprint || !event.entity) return;
    if (event.body.status !== undefined && event.body.status !== 'SUCCESS') return;
    const after = event.body.diff?.after;
    if (event.action === 'DELETE') await this.redis.hdel(this.key(event.blueprint), event.entity);
    else if ((event.action === 'CREATE' || event.action === 'UPDATE') && isObject(after)) {
      await RECORD.run(this.redis, [this.key(event.blueprint)], [event.entity, encodeEntityState(after), event.action]);
    }
  }

  /**
   * Whether catch-up already reported the change `event` makes (see `alreadyReported`), or the
   * deletion it is (`deletionReported`); never for catch-up's own events.
   */
  async reportedByCatchUp(event: ChangeEvent): Promise<boolean> {
    if (event.source === 'reconcile' || event.resourceType !== 'entity' || !event.blueprint || !event.entity) return false;
    if (event.action !== 'CREATE' && event.action !== 'UPDATE' && event.action !== 'DELETE') return false;
    const { before, after } = event.body.diff ?? {};
    if (event.action !== 'DELETE' && !isObject(after)) return false;
    const raw = await this.redis.hget(this.key(event.blueprint), event.entity);
    if (raw === null) return false;
    if (event.action === 'DELETE') return deletionReported(storedState(raw));
    return alreadyReported(storedState(raw), isObject(before) ? before : null, after as EntitySnapshot);
  }

  /** Every entity of the blueprint, by identifier (HSCAN: no long block of Redis on a large blueprint). */
  async snapshot(blueprint: string): Promise<Map<string, StoredEntityState>> {
    const states = new Map<string, StoredEntityState>();
    let cursor = '0';
    do {
      const [nextCursor, pairs] = await this.redis.hscan(this.key(blueprint), cursor, 'COUNT', 1000);
      for (let i = 0; i < pairs.length; i += 2) states.set(pairs[i], storedState(pairs[i + 1]));
      cursor = nextCursor;
    } while (cursor !== '0');
    return states;
  }

  /** Replaces the blueprint's whole state with these entities, and marks it recorded. */
  async replace(blueprint: string, entities: EntitySnapshot[]): Promise<void> {
    const tx = this.redis.multi().del(this.key(blueprint));
    for (let i = 0; i < entities.length; i += BATCH) {
      const pairs = entities.slice(i, i + BATCH).flatMap((entity) => [String(entity.identifier), encodeEntityState(entity)]);
      tx.hset(this.key(blueprint), ...pairs);
    }
    await tx.sadd(this.recordedKey(), blueprint).exec();
  }

  /** Applies each update only where the stored value is still `expected`; true for those applied. */
  async compareAndSet(blueprint: string, updates: StateUpdate[]): Promise<boolean[]> {
    const applied: boolean[] = [];
    for (let i = 0; i < updates.length; i += BATCH) {
      const args = updates
        .slice(i, i + BATCH)
        .flatMap((update) => [update.entity, update.expected ?? '', encodeStateUpdate(update)]);
      const result = (await COMPARE_AND_SET.run(this.redis, [this.key(blueprint)], args)) as number[];
      applied.push(...result.map((flag) => flag === 1));
    }
    return applied;
  }

  /** Whether a reconcile run has recorded this blueprint whole (so its next run may report changes). */
  async isRecorded(blueprint: string): Promise<boolean> {
    return (await this.redis.sismember(this.recordedKey(), blueprint)) === 1;
  }

  async markRecorded(blueprint: string): Promise<void> {
    await this.redis.sadd(this.recordedKey(), blueprint);
  }

  async recordedBlueprints(): Promise<string[]> {
    return this.redis.smembers(this.recordedKey());
  }

  /** Every blueprint with a state hash, recorded by catch-up or not (an earlier version kept every blueprint's). */
  async storedBlueprints(): Promise<string[]> {
    const prefix = this.key('');
    const blueprints: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      for (const key of keys) blueprints.push(key.slice(prefix.length));
      cursor = next;
    } while (cursor !== '0');
    return blueprints;
  }

  /** Drops the blueprint's state and mark: if the rules name it again, its next run records afresh. */
  async forget(blueprint: string): Promise<void> {
    await this.redis.multi().del(this.key(blueprint)).srem(this.recordedKey(), blueprint).exec();
  }

  private key(blueprint: string): string {
    return `${this.config.queuePrefix}:state:${blueprint}`;
  }

  // Not under `state:`: a blueprint may be named anything.
  private recordedKey(): string {
    return `${this.config.queuePrefix}:state-recorded`;
  }
}

function isObject(value: unknown): value is EntitySnapshot {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
