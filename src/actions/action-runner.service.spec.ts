import type Redis from 'ioredis';
import type { ActionRecord } from '../events/event-record';
import type { EventRecordStore } from '../events/event-record.store';
import { MetricsService } from '../ops/metrics.service';
import type { DispatchActionJob } from '../queue/job-types';
import { RateLimitedActionError } from './action-errors';
import type { ActionRouter } from './action-router.service';
import { ActionRunnerService } from './action-runner.service';

describe(ActionRunnerService.name, () => {
  const HOUR_MS = 3_600_000;
  const router = { dispatch: async () => ({ summary: 'sent' }) } as unknown as ActionRouter;
  const records = { updateAction: async () => undefined } as unknown as EventRecordStore;

  async function receiptToDispatchSum(job: DispatchActionJob, queuedAt: number): Promise<number> {
    const metrics = new MetricsService();
    await new ActionRunnerService(router, records, metrics).run(job, { number: 1, max: 3, queuedAt }, {} as Redis);
    const histogram = await metrics.receiptToDispatch.get();
    return histogram.values.find((value) => value.metricName === 'reactor_receipt_to_dispatch_seconds_sum')!.value;
  }

  const job = (replay: number): DispatchActionJob => ({
    eventId: 'evt_1', ruleId: 'r', actionIndex: 0, replay, action: { type: 'slack', text: 'x' } as DispatchActionJob['action'],
    receivedAt: new Date(Date.now() - HOUR_MS).toISOString(),
  });

  it('should note until when a 429 with Retry-After holds the retry', async () => {
    const updates: ActionRecord[] = [];
    const limited = { dispatch: async () => Promise.reject(new RateLimitedActionError('slow down', 120_000)) } as unknown as ActionRouter;
    const recording = { updateAction: async (_id: string, entry: ActionRecord) => void updates.push(entry) } as unknown as EventRecordStore;
    const runner = new ActionRunnerService(limited, recording, new MetricsService());
    await expect(runner.run(job(0), { number: 1, max: 3, queuedAt: Date.now() }, {} as Redis)).rejects.toBeInstanceOf(RateLimitedActionError);

    expect(updates[0]).toMatchObject({ status: 'retrying', lastError: { statusCode: 429 }, waiting: { reason: expect.stringContaining('Retry-After') } });
    expect(Date.parse(updates[0].waiting!.until) - Date.now()).toBeGreaterThan(110_000);
  });

  it("should time an action from the event's receipt", async () => {
    expect(await receiptToDispatchSum(job(0), Date.now() - 1_000)).toBeGreaterThanOrEqual(HOUR_MS / 1000);
  });

  it("should time a replay's action from the replay, not from the event's first receipt an hour before", async () => {
    expect(await receiptToDispatchSum(job(2), Date.now() - 1_000)).toBeLessThan(60);
  });
});
