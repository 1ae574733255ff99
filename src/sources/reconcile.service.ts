import { Logger, type OnModuleDestroy } from '@nestjs/common';
import type { PortApiClient } from '../actions/port/port-api.client';
import type { EventIntakeService } from '../ingest/event-intake.service';
import type { MetricsService } from '../ops/metrics.service';
import type { RuleSet } from '../rules/rule.types';
import type { RulesService } from '../rules/rules.service';
import type { ChangeEvent } from '../changes/change-event';
import type { EventSourceStatus } from './event-source';
import { encodeStateUpdate } from './entity-state';
import type { EntityStateStore } from './entity-state.store';
import { listAllEntities } from './port-entity-listing';
import { diffEntityStates, expiredDeletions, reconcileEvent, type EntityDifference } from './reconcile-diff';

/** `RECONCILE_INTERVAL` in ms (unset = no periodic run) and `RECONCILE_ON_START`. */
export interface ReconcileSchedule {
  intervalMs?: number;
  onStart: boolean;
}

export interface ReconcileSummary {
  /** Blueprints compared or recorded in this run. */
  blueprints: string[];
  /** Of those, the ones seen for the first time: their state was recorded, nothing queued. */
  recorded: string[];
  /** Blueprints whose listing failed (logged); the next run tries again. */
  failed: string[];
  created: number;
  updated: number;
  deleted: number;
  /** Synthetic events newly queued (not duplicates). */
  queued: number;
  /** Changes found that no event can carry (an entity nested too deeply): logged, left for the next run. */
  unreported: number;
}

export type ReconcileMetrics = Pick<MetricsService, 'reconcileRuns' | 'reconcileLastCompleted' | 'reconcileBlueprintFailures'>;

/** How the last run that ended went, for readiness. */
interface LastRun {
  endedAt: string;
  outcome: 'completed' | 'failed' | 'aborted';
  failed: string[];
}

const PAGE_LIMIT = 500;
const DAY_MS = 86_400_000;

/** The blueprints the rules name; a rule naming none (it matches every blueprint) adds none. */
export function namedBlueprints(ruleSet: RuleSet | undefined): string[] {
  return [...new Set((ruleSet?.rules ?? []).flatMap((rule) => rule.blueprints))];
}

const namedSets = new WeakMap<RuleSet, Set<string>>();

/** Whether catch-up reads this blueprint under these rules (once per rule set, then a set lookup). */
export function isNamedBlueprint(ruleSet: RuleSet | undefined, blueprint: string): boolean {
  if (!ruleSet) return false;
  let named = namedSets.get(ruleSet);
  if (!named) namedSets.set(ruleSet, (named = new Set(namedBlueprints(ruleSet))));
  return named.has(blueprint);
}

/**
 * Port's "resync" for the service: reads every blueprint the rules name, compares with the last
 * state the service saw, and queues a `reconcile` event for each change it missed. Errors are
 * logged, never thrown out of the schedule. Provided with a factory (its schedule comes from the config).
 *
 * When the interval comes round while a run is still reading Port: a run that made progress (a
 * page, a blueprint) within the last interval is left to finish and this interval's run is skipped,
 * since aborting it would start over from the first page and a listing longer than the interval
 * would never finish; a run that made none (a hung call, a long Retry-After) is aborted and a new
 * one starts.
 */
export class ReconcileService implements OnModuleDestroy {
  private readonly logger = new Logger(ReconcileService.name);
  private timer?: NodeJS.Timeout;
  private inFlight?: { controller: AbortController; done: Promise<ReconcileSummary | undefined> };
  /** When the run in flight last read a page or finished a blueprint (ms). */
  private progressAt = 0;
  private lastRun?: LastRun;
  private started = false;
  private strayStateChecked = false;

  constructor(
    private readonly port: Pick<PortApiClient, 'searchEntities'>,
    private readonly store: Pick<EntityStateStore, 'snapshot' | 'compareAndSet' | 'isRecorded' | 'markRecorded' | 'recordedBlueprints' | 'storedBlueprints' | 'forget'>,
    private readonly intake: Pick<EventIntakeService, 'accept'>,
    private readonly rules: Pick<RulesService, 'current'>,
    private readonly schedule: ReconcileSchedule,
    private readonly options: {
      pageLimit?: number;
      now?: () => Date;
      metrics?: ReconcileMetrics;
      /** How long the trace of a reported deletion is kept for Port's late DELETE (DEDUPE_TTL_SECONDS; default a day). */
      deletionTraceMs?: number;
    } = {},
  ) {}

  start(): void {
    if (this.started) return;
    this.started = true;
    // The series exists from the start, at 0: "no completed run for a while" can then be alerted on
    // from a restart on (an absent series would never fire).
    this.options.metrics?.reconcileRuns.inc({ outcome: 'completed' }, 0);
    if (this.schedule.intervalMs) this.timer = setInterval(() => this.tick(this.schedule.intervalMs!), this.schedule.intervalMs);
    if (this.schedule.onStart) void this.trigger();
  }

  /** For readiness: running, idle after a run that reached every blueprint, or failing (the last run did not). */
  status(): EventSourceStatus | undefined {
    if (!this.started) return undefined;
    const last = this.lastRun;
    const detail = last ? `last run ${last.outcome} at ${last.endedAt}${last.failed.length > 0 ? `; failed: ${last.failed.join(', ')}` : ''}` : 'no run has ended yet';
    const state = this.inFlight ? 'running' : !last || last.outcome === 'completed' ? 'idle' : 'failing';
    return { name: 'reconcile', state, detail };
  }

  private tick(intervalMs: number): void {
    if (!this.inFlight) return void this.trigger();
    const idleMs = Date.now() - this.progressAt;
    if (idleMs < intervalMs) {
      this.options.metrics?.reconcileRuns.inc({ outcome: 'skipped' });
      this.logger.log(`reconcile: the run in progress is still reading Port (last progress ${Math.round(idleMs / 1000)} s ago); this interval's run is skipped`);
      return;
    }
    void this.trigger(`it made no progress for ${Math.round(idleMs / 1000)} s`);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.started = false;
    this.inFlight?.controller.abort(new Error('reconcile stopped'));
    await this.inFlight?.done;
  }

  onModuleDestroy(): Promise<void> {
    return this.stop();
  }

  /** Runs now, aborting a run in progress first (for `why`); the summary, or undefined when aborted or failed (logged). */
  trigger(why = 'a newer reconcile run started'): Promise<ReconcileSummary | undefined> {
    const previous = this.inFlight;
    const controller = new AbortController();
    const done = (async () => {
      if (previous) {
        previous.controller.abort(new Error(why));
        await previous.done;
      }
      return controller.signal.aborted ? undefined : this.runLogged(controller.signal);
    })();
    const entry = { controller, done };
    this.inFlight = entry;
    void done.finally(() => {
      if (this.inFlight === entry) this.inFlight = undefined;
    });
    return done;
  }

  async run(signal: AbortSignal): Promise<ReconcileSummary> {
    const summary: ReconcileSummary = { blueprints: [], recorded: [], failed: [], created: 0, updated: 0, deleted: 0, queued: 0, unreported: 0 };
    this.progressAt = Date.now();
    const now = (this.options.now?.() ?? new Date()).toISOString();
    const ruleSet = this.rules.current();
    if (!ruleSet) return summary;
    const blueprints = namedBlueprints(ruleSet);
    await this.forgetUnnamed(blueprints);
    for (const blueprint of blueprints) {
      signal.throwIfAborted();
      try {
        await this.reconcile(blueprint, now, signal, summary);
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        summary.failed.push(blueprint);
        this.options.metrics?.reconcileBlueprintFailures.inc({ blueprint });
        this.logger.error(`reconcile of blueprint ${blueprint} failed: ${(error as Error).message}`);
      }
      this.progressAt = Date.now();
    }
    return summary;
  }

  private async runLogged(signal: AbortSignal): Promise<ReconcileSummary | undefined> {
    try {
      const s = await this.run(signal);
      const changes = s.created + s.updated + s.deleted;
      this.logger[changes > 0 || s.failed.length > 0 || s.unreported > 0 ? 'log' : 'debug'](
        `reconcile: ${s.blueprints.length} blueprints, ${s.created} created, ${s.updated} updated, ${s.deleted} deleted, ${s.queued} queued` +
          (s.unreported > 0 ? `, ${s.unreported} not reported (see the warnings)` : '') +
          (s.failed.length > 0 ? `; failed: ${s.failed.join(', ')}` : ''),
      );
      this.ended(s.failed.length > 0 ? 'failed' : 'completed', s.failed);
      return s;
    } catch (error) {
      if (signal.aborted) this.logger.warn(`reconcile run aborted: ${(signal.reason as Error).message}`);
      else this.logger.error(`reconcile run failed: ${(error as Error).message}`);
      this.ended(signal.aborted ? 'aborted' : 'failed', []);
      return undefined;
    }
  }

  private ended(outcome: LastRun['outcome'], failed: string[]): void {
    this.lastRun = { endedAt: new Date().toISOString(), outcome, failed };
    this.options.metrics?.reconcileRuns.inc({ outcome });
    if (outcome === 'completed') this.options.metrics?.reconcileLastCompleted.set(Date.now() / 1000);
  }

  // A blueprint the rules stopped naming would otherwise keep an ever older state, and naming it
  // again would report every change since as missed. The first run of a process also drops the
  // state an earlier version kept of blueprints no rule named (events only record the named ones
  // now): a SCAN of the whole keyspace, not worth repeating every interval.
  private async forgetUnnamed(named: string[]): Promise<void> {
    const recorded = await this.store.recordedBlueprints();
    const stored = this.strayStateChecked ? [] : await this.store.storedBlueprints();
    this.strayStateChecked = true;
    for (const blueprint of new Set([...recorded, ...stored])) {
      if (named.includes(blueprint)) continue;
      await this.store.forget(blueprint);
      if (recorded.includes(blueprint)) this.logger.log(`reconcile: the rules no longer name blueprint ${blueprint}; its recorded state is dropped`);
    }
  }

  private async reconcile(blueprint: string, now: string, signal: AbortSignal, summary: ReconcileSummary): Promise<void> {
    const firstRun = !(await this.store.isRecorded(blueprint));
    // Read before listing: a webhook recorded while the pages are read then fails the compare-and-set
    // below, instead of its newer state being reported as changed back to the listed one.
    const stored = await this.store.snapshot(blueprint);
    const entities = await listAllEntities(this.port, blueprint, {
      limit: this.options.pageLimit ?? PAGE_LIMIT,
      signal,
      onWait: (ms) => this.logger.warn(`Port rate-limited the listing of ${blueprint}: waiting ${ms} ms`),
      onPage: () => void (this.progressAt = Date.now()),
    });
    // Last abort point: once changes are claimed in the store they must be queued.
    signal.throwIfAborted();
    const differences = diffEntityStates(stored, entities);
    summary.blueprints.push(blueprint);
    const expired = expiredDeletions(stored, entities, Date.parse(now), this.options.deletionTraceMs ?? DAY_MS);
    if (expired.length > 0) await this.store.compareAndSet(blueprint, expired.map((trace) => ({ ...trace, next: null })));
    if (firstRun) {
      await this.store.compareAndSet(blueprint, differences.map((d) => ({ entity: d.entity, expected: d.expected, next: d.after })));
      await this.store.markRecorded(blueprint);
      summary.recorded.push(blueprint);
      this.logger.log(`reconcile: recorded ${entities.length} entities of blueprint ${blueprint} (first run: nothing queued)`);
      return;
    }
    const reportable = this.reportable(blueprint, differences, now, summary);
    const updates = reportable.map(({ difference: d }) => ({ entity: d.entity, expected: d.expected, next: d.after, reported: true, reportedAt: Date.parse(now) }));
    const applied = await this.store.compareAndSet(blueprint, updates);
    await this.queue(
      blueprint,
      reportable.flatMap((item, i) => (applied[i] ? [{ ...item, written: encodeStateUpdate(updates[i]) }] : [])),
      summary,
    );
  }

  /**
   * Each difference with the event that reports it. One that no event can carry (the service refuses
   * the body: an entity nested too deeply) is logged and left out, so it neither stops the rest of
   * the blueprint nor is recorded as seen: the next run finds it again.
   */
  private reportable(blueprint: string, differences: EntityDifference[], now: string, summary: ReconcileSummary): { difference: EntityDifference; event: ChangeEvent }[] {
    return differences.flatMap((difference) => {
      try {
        return [{ difference, event: reconcileEvent(blueprint, difference, now) }];
      } catch (error) {
        summary.unreported++;
        this.logger.warn(`reconcile: the ${difference.action} of ${blueprint}/${difference.entity} cannot be reported: ${(error as Error).message}`);
        return [];
      }
    });
  }

  /** `written`: the value each claimed change left in the store, which a failure puts back. */
  private async queue(blueprint: string, claimed: { difference: EntityDifference; event: ChangeEvent; written: string }[], summary: ReconcileSummary): Promise<void> {
    for (const [index, { difference, event }] of claimed.entries()) {
      try {
        const { duplicate } = await this.intake.accept(event);
        if (!duplicate) summary.queued++;
      } catch (error) {
        // Not queued: put back what was claimed, so the next run finds these changes again.
        const rest = claimed.slice(index);
        await this.store
          .compareAndSet(blueprint, rest.map(({ difference: d, written }) => ({ entity: d.entity, expected: written, next: d.before })))
          .catch(() => this.logger.error(`reconcile: ${rest.length} changes of ${blueprint} were recorded but not queued`));
        throw error;
      }
      summary[difference.action === 'CREATE' ? 'created' : difference.action === 'UPDATE' ? 'updated' : 'deleted']++;
    }
  }
}
