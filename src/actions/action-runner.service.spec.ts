import type Redis from 'ioredis';
import type { EventRecordStore } from '../events/event-record.store';
import { MetricsService } from '../ops/metrics.service';
import type { DispatchActionJob } from '../queue/job-types';
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

  it("should time an action from the event's receipt", async () => {
    expect(await receiptToDispatchSum(job(0), Date.now() - 1_000)).toBeGreaterThanOrEqual(HOUR_MS / 1000);
  });

  it("should time a replay's action from the replay, not from the event's first receipt an hour before", async () => {
    expect(await receiptToDispatchSum(job(2), Date.now() - 1_000)).toBeLessThan(60);
  });
});
