import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { JobsOptions, Queue } from 'bullmq';
import type Redis from 'ioredis';
import { actionKey } from '../actions/action-key';
import { guardOwnWriteLoops } from '../actions/port/own-write';
import { portAppUrlFrom } from '../actions/slack/slack-message.builder';
import { ChangeEvent } from '../changes/change-event';
import { changesFor } from '../changes/entity-diff';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../ops/metrics.service';
import { ActionRecord } from '../events/event-record';
import { EventRecordStore } from '../events/event-record.store';
import { actionJobOptions } from '../queue/job-options';
import { PRODUCER_REDIS, producerQueue } from '../queue/producer-redis.provider';
import { DispatchActionJob } from '../queue/job-types';
import { JobName, QueueName } from '../queue/queue-names';
import { evaluateRules, RuleMatch } from './rule-evaluator';
import { RulesService } from './rules.service';

export interface EvaluationSummary {
  /** A redelivery of an event delivered within DEDUPE_TTL_SECONDS: nothing was recorded or queued. */
  duplicate: boolean;
  matched: string[];
  actions: number;
}

/**
 * Event -> changes -> matched rules -> the event's record and one action job per action, written
 * together (one round trip). Runs where the event arrives, before it is acknowledged: what Port gets
 * a 202 for is recorded and its actions are queued.
 *
 * A redelivery is recognised by the record script (SET NX on the event id) and writes nothing. The
 * action jobs go out in the same round trip, before that answer is known, so each is deduplicated
 * on its own (BullMQ's deduplication, same window): a redelivery adds none, and one whose first
 * delivery was cut off between the record and its jobs adds the missing ones.
 */
@Injectable()
export class EventEvaluationService implements OnModuleDestroy {
  private readonly logger = new Logger(EventEvaluationService.name);
  private readonly portAppUrl: string;
  private readonly actionRetry: AppConfig['actionRetry'];
  private readonly clientId?: string;
  private readonly dedupeTtlMs: number;
  private readonly actions: Queue<DispatchActionJob>;

  constructor(
    private readonly rules: RulesService,
    private readonly records: EventRecordStore,
    private readonly metrics: MetricsService,
    config: AppConfig,
    // The records' connection: an evaluation's record and its action jobs go out together, one round trip.
    @Inject(PRODUCER_REDIS) redis: Redis,
  ) {
    this.actions = producerQueue(QueueName.Actions, redis, config, this.logger);
    this.portAppUrl = portAppUrlFrom(config.port.apiUrl);
    this.actionRetry = config.actionRetry;
    this.clientId = config.port.clientId;
    this.dedupeTtlMs = config.dedupeTtlSeconds * 1000;
  }

  /** `replay` 0 is the event's delivery (deduplicated); POST /events/:id/replay passes 1, 2, ... */
  async evaluate(event: ChangeEvent, replay = 0): Promise<EvaluationSummary> {
    const ruleSet = this.rules.current();
    if (!ruleSet) throw new Error('no rules loaded');
    const changes = changesFor(event);
    const evaluation = evaluateRules(ruleSet, event, changes, { portAppUrl: this.portAppUrl });
    const { failures } = evaluation;
    const matches = this.withoutOwnWriteLoops(event, evaluation.matches);

    const now = new Date().toISOString();
    const jobs = matches.flatMap((match) =>
      match.actions.map((action, actionIndex) => {
        const key = actionKey(event.id, replay, match.ruleId, actionIndex);
        const data: DispatchActionJob = { eventId: event.id, ruleId: match.ruleId, actionIndex, replay, action, receivedAt: event.receivedAt };
        const opts = actionJobOptions(key, this.actionRetry, this.dedupeTtlMs);
        return { name: JobName.DispatchAction, data, opts };
      }),
    );
    const actionRecords: ActionRecord[] = jobs.map(({ data, opts }) => ({
      key: opts.jobId!, ruleId: data.ruleId, actionIndex: data.actionIndex, replay, type: data.action.type,
      status: 'queued', attempts: 0, queuedAt: now, updatedAt: now,
    }));
    const matched = matches.map((match) => match.ruleId);
    // Both in one round trip; the record is written first (one connection runs its commands in order),
    // so a worker always finds it.
    const [recorded] = await Promise.all([
      this.records.recordEvaluation(event, { evaluatedAt: now, changes, matchedRules: matched, ruleFailures: failures }, actionRecords, { firstDelivery: replay === 0 }),
      this.enqueue(jobs),
    ]);
    if (!recorded) return { duplicate: true, matched, actions: 0 };
    for (const failure of failures) {
      this.metrics.ruleFailures.inc({ rule: failure.ruleId });
      this.logger.warn({ eventId: event.id, ruleId: failure.ruleId }, `rule evaluation failed: ${failure.error}`);
    }
    for (const ruleId of matched) this.metrics.rulesMatched.inc({ rule: ruleId });
    this.logger.log(
      { eventId: event.id, source: event.source, entity: event.entity, replay, changes: changes.length, matched },
      `event ${replay ? `replay ${replay} ` : ''}evaluated: ${matched.length} rules matched, ${jobs.length} actions queued`,
    );
    return { duplicate: false, matched, actions: jobs.length };
  }

  // One job is one script call; addBulk wraps even one in a MULTI, which costs several times the CPU.
  private async enqueue(jobs: { name: JobName; data: DispatchActionJob; opts: JobsOptions }[]): Promise<void> {
    if (jobs.length === 1) await this.actions.add(jobs[0].name, jobs[0].data, jobs[0].opts);
    else if (jobs.length > 1) await this.actions.addBulk(jobs);
  }

  async onModuleDestroy(): Promise<void> {
    await this.actions.close();
  }

  /** A rule that patches Port is not run for the changelog of our own patch, or it would trigger itself forever. */
  private withoutOwnWriteLoops(event: ChangeEvent, matches: RuleMatch[]): RuleMatch[] {
    const guarded = guardOwnWriteLoops(event, matches, this.clientId);
    for (const ruleId of guarded.held) this.logger.log({ eventId: event.id, ruleId }, 'rule skipped: the change was made by this service (loop guard)');
    return guarded.matches;
  }
}
