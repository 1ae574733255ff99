import { Injectable } from '@nestjs/common';
import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { droppedLogLines } from '../common/logger.options';
import { withTimeout } from '../common/with-timeout';

/** A registry's metrics as `getMetricsAsJSON()` gives them: what another process sends to be reported. */
export type ProcessMetrics = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

// Below Prometheus' default scrape timeout (10 s); another process gets less (worker-process.ts).
const SCRAPE_DEADLINE_MS = 3_000;
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/** Every metric the service exports, on its own registry (so tests and several apps in one process do not clash). */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly eventsReceived = new Counter({
    name: 'reactor_events_received_total',
    help: 'Events received, by source and outcome (accepted, duplicate, rejected_<reason>)',
    labelNames: ['source', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly rulesMatched = new Counter({
    name: 'reactor_rules_matched_total',
    help: 'Rule matches, by rule id',
    labelNames: ['rule'] as const,
    registers: [this.registry],
  });

  readonly ruleFailures = new Counter({
    name: 'reactor_rule_evaluation_failures_total',
    help: 'Rules whose evaluation failed (jq or template error), by rule id',
    labelNames: ['rule'] as const,
    registers: [this.registry],
  });

  readonly actions = new Counter({
    name: 'reactor_actions_total',
    help: 'Action attempts, by type and outcome (succeeded, retried, failed)',
    labelNames: ['type', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly actionsPutBack = new Counter({
    name: 'reactor_actions_put_back_total',
    help: "Actions put back in the queue, no attempt used, because their target was slow and its calls already held three quarters of a worker's slots",
    labelNames: ['type'] as const,
    registers: [this.registry],
  });

  readonly ingestDuration = new Histogram({
    name: 'reactor_ingest_duration_seconds',
    help: 'Time from a webhook arriving to its 202 (verify, validate, dedupe, durable enqueue)',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly receiptToDispatch = new Histogram({
    name: 'reactor_receipt_to_dispatch_seconds',
    help: 'Time from an event being received (a replay: being replayed) to one of its actions succeeding, by action type',
    labelNames: ['type'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly rulesFileRefused = new Gauge({
    name: 'reactor_rules_file_refused',
    help: 'Is the rules file on disk refused (1: it has errors, the rules loaded before it are in use; the error log line says why)',
    aggregator: 'max',
    registers: [this.registry],
  });

  readonly reconcileRuns = new Counter({
    name: 'reactor_reconcile_runs_total',
    help: 'Catch-up runs, by outcome: completed (every blueprint read), failed (one or more blueprints, or the run, failed: the log says why), aborted (made no progress for a whole RECONCILE_INTERVAL, or shutdown), skipped (the interval came while a run still making progress was reading)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly reconcileLastCompleted = new Gauge({
    name: 'reactor_reconcile_last_completed_timestamp_seconds',
    help: 'When the last catch-up run that read every blueprint the rules name ended (Unix time); alert when it falls behind by several RECONCILE_INTERVALs',
    aggregator: 'max',
    registers: [this.registry],
  });

  readonly reconcileBlueprintFailures = new Counter({
    name: 'reactor_reconcile_blueprint_failures_total',
    help: 'Blueprints catch-up could not read or report (not found in Port, the API failing), by blueprint',
    labelNames: ['blueprint'] as const,
    registers: [this.registry],
  });

  readonly logLinesDropped = new Counter({
    name: 'reactor_log_lines_dropped_total',
    help: 'Log lines dropped because stdout took nothing while 16 MiB of lines waited (a log reader that stopped reading)',
    registers: [this.registry],
    collect() {
      this.reset();
      this.inc(droppedLogLines.count);
    },
  });

  private readonly otherProcesses: (() => Promise<ProcessMetrics>)[] = [];

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Reports another process' metrics with this one's: ROLE=all's worker process. */
  addProcess(read: () => Promise<ProcessMetrics>): void {
    this.otherProcesses.push(read);
  }

  /**
   * The exposition text. With other processes, one set of series for them all: counters and
   * histograms summed, process figures summed (CPU, memory), event-loop lag averaged (its max the
   * larger), queue gauges (each process reads the same Redis) the highest. Rejects after
   * SCRAPE_DEADLINE_MS rather than hold a scrape while Redis does not answer (the queue gauges wait for it).
   */
  scrape(): Promise<string> {
    return withTimeout(this.read(), SCRAPE_DEADLINE_MS, `not read within ${SCRAPE_DEADLINE_MS / 1000} s: Redis does not answer`);
  }

  private async read(): Promise<string> {
    if (this.otherProcesses.length === 0) return this.registry.metrics();
    const all = await Promise.all([this.registry.getMetricsAsJSON(), ...this.otherProcesses.map((read) => read())]);
    return AggregatorRegistry.aggregate(all).metrics();
  }
}
