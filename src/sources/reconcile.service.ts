import { Logger, type OnModuleDestroy } from '@nestjs/common';
import type { PortApiClient } from '../actions/port/port-api.client';
import type { EventIntakeService } from '../ingest/event-intake.service';
import type { RuleSet } from '../rules/rule.types';
import type { RulesService } from '../rules/rules.service';
import { encodeEntityState } from './entity-state';
import type { EntityStateStore } from './entity-state.store';
import { listAllEntities } from './port-entity-listing';
import { diffEntityStates, reconcileEvent, type EntityDifference } from './reconcile-diff';

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
}

const PAGE_LIMIT = 500;

/** The blueprints the rules name; a rule naming none (it matches every blueprint) adds none. */
export function namedBlueprints(ruleSet: RuleSet | undefined): string[] {
  return [...new Set((ruleSet?.rules ?? []).flatMap((rule) => rule.blueprints))];
}

/**
 * Port's "resync" for the service: reads every blueprint the rules name, compares with the last
 * state the service saw, and queues a `reconcile` event for each change it missed. A new run
 * aborts one still in progress; errors are logged, never thrown out of the schedule.
 * Provided with a factory (its schedule comes from the config).
 */
export class ReconcileService implements OnModuleDestroy {
  private readonly logger = new Logger(ReconcileService.name);
  private timer?: NodeJS.Timeout;
  private inFlight?: { controller: AbortController; done: Promise<ReconcileSummary | undefined> };

  constructor(
    private readonly port: Pick<PortApiClient, 'searchEntities'>,
    private readonly store: Pick<EntityStateStore, 'snapshot' | 'compareAndSet' | 'isRecorded' | 'markRecorded' | 'recordedBlueprints' | 'forget'>,
    private readonly intake: Pick<EventIntakeService, 'accept'>,
    private readonly rules: Pick<RulesService, 'current'>,
    private readonly schedule: ReconcileSchedule,
    private readonly options: { pageLimit?: number; now?: () => Date } = {},
  ) {}

  start(): void {
    if (this.timer) return;
    if (this.schedule.intervalMs) this.timer = setInterval(() => void this.trigger(), this.schedule.intervalMs);
    if (this.schedule.onStart) void this.trigger();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.inFlight?.controller.abort(new Error('reconcile stopped'));
    await this.inFlight?.done;
  }

  onModuleDestroy(): Promise<void> {
    return this.stop();
  }

  /** Runs now, aborting a run in progress first; the summary, or undefined when aborted or failed (logged). */
  trigger(): Promise<ReconcileSummary | undefined> {
    const previous = this.inFlight;
    const controller = new AbortController();
    const done = (async () => {
      if (previous) {
        previous.controller.abort(new Error('a newer reconcile run started'));
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
    const summary: ReconcileSummary = { blueprints: [], recorded: [], failed: [], created: 0, updated: 0, deleted: 0, queued: 0 };
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
        this.logger.error(`reconcile of blueprint ${blueprint} failed: ${(error as Error).message}`);
      }
    }
    return summary;
  }

  private async runLogged(signal: AbortSignal): Promise<ReconcileSummary | undefined> {
    try {
      const s = await this.run(signal);
      const changes = s.created + s.updated + s.deleted;
      this.logger[changes > 0 || s.failed.length > 0 ? 'log' : 'debug'](
        `reconcile: ${s.blueprints.length} blueprints, ${s.created} created, ${s.updated} updated, ${s.deleted} deleted, ${s.queued} queued` +
          (s.failed.length > 0 ? `; failed: ${s.failed.join(', ')}` : ''),
      );
      return s;
    } catch (error) {
      if (signal.aborted) this.logger.warn(`reconcile run aborted: ${(signal.reason as Error).message}`);
      else this.logger.error(`reconcile run failed: ${(error as Error).message}`);
      return undefined;
    }
  }

  // A blueprint the rules stopped naming would otherwise keep an ever older state, and naming it
  // again would report every change since as missed.
  private async forgetUnnamed(named: string[]): Promise<void> {
    for (const blueprint of await this.store.recordedBlueprints()) {
      if (named.includes(blueprint)) continue;
      await this.store.forget(blueprint);
      this.logger.log(`reconcile: the rules no longer name blueprint ${blueprint}; its recorded state is dropped`);
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
    });
    // Last abort point: once changes are claimed in the store they must be queued.
    signal.throwIfAborted();
    const differences = diffEntityStates(stored, entities);
    const applied = await this.store.compareAndSet(blueprint, differences.map((d) => ({ entity: d.entity, expected: d.expected, next: d.after })));
    summary.blueprints.push(blueprint);
    if (firstRun) {
      await this.store.markRecorded(blueprint);
      summary.recorded.push(blueprint);
      this.logger.log(`reconcile: recorded ${entities.length} entities of blueprint ${blueprint} (first run: nothing queued)`);
      return;
    }
    await this.queue(blueprint, differences.filter((_, i) => applied[i]), now, summary);
  }

  private async queue(blueprint: string, claimed: EntityDifference[], now: string, summary: ReconcileSummary): Promise<void> {
    for (const [index, difference] of claimed.entries()) {
      try {
        const { duplicate } = await this.intake.accept(reconcileEvent(blueprint, difference, now));
        if (!duplicate) summary.queued++;
      } catch (error) {
        // Not queued: put back what was claimed, so the next run finds these changes again.
        const rest = claimed.slice(index);
        await this.store
          .compareAndSet(blueprint, rest.map((d) => ({ entity: d.entity, expected: d.after ? encodeEntityState(d.after) : null, next: d.before })))
          .catch(() => this.logger.error(`reconcile: ${rest.length} changes of ${blueprint} were recorded but not queued`));
        throw error;
      }
      summary[difference.action === 'CREATE' ? 'created' : difference.action === 'UPDATE' ? 'updated' : 'deleted']++;
    }
  }
}
