import { Logger } from '@nestjs/common';
import { PermanentActionError, RateLimitedActionError } from '../actions/action-errors';
import type { EntityPage, EntityPageRequest } from '../actions/port/port-api.client';
import type { ChangeEvent, EntitySnapshot } from '../changes/change-event';
import type { RuleSet } from '../rules/rule.types';
import { encodeEntityState, encodeStateUpdate, storedState, type StoredEntityState } from './entity-state';
import type { StateUpdate } from './entity-state.store';
import { ReconcileService } from './reconcile.service';

const svc = (id: string, health = 'Healthy'): EntitySnapshot => ({ identifier: id, title: id, properties: { health } });
const rules = (...blueprints: string[][]): RuleSet =>
  ({ rules: blueprints.map((names, i) => ({ id: `r${i}`, blueprints: names, events: [], when: [], do: [] })), source: 'x', loadedAt: 'x' });

describe(ReconcileService.name, () => {
  let listings: Record<string, EntitySnapshot[]>;
  let state: Record<string, Map<string, StoredEntityState>>;
  let recorded: Set<string>;
  let port: { searchEntities: jest.Mock<Promise<EntityPage>, [string, EntityPageRequest]> };
  let store: {
    snapshot: jest.Mock;
    compareAndSet: jest.Mock;
    isRecorded: jest.Mock;
    markRecorded: jest.Mock;
    recordedBlueprints: jest.Mock;
    storedBlueprints: jest.Mock;
    forget: jest.Mock;
  };
  let intake: { accept: jest.Mock };
  let ruleSet: RuleSet;
  let sut: ReconcileService;

  const run = () => sut.run(new AbortController().signal);
  const queued = () => intake.accept.mock.calls.map(([event]: [ChangeEvent]) => `${event.action} ${event.entity}`);

  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation();
    jest.spyOn(Logger.prototype, 'warn').mockImplementation();
    jest.spyOn(Logger.prototype, 'error').mockImplementation();
    jest.spyOn(Logger.prototype, 'debug').mockImplementation();
    listings = { service: [svc('a'), svc('b')] };
    state = {};
    recorded = new Set();
    ruleSet = rules(['service'], []);
    port = { searchEntities: jest.fn(async (bp: string, _page: EntityPageRequest): Promise<EntityPage> => ({ entities: listings[bp] ?? [] })) };
    // An in-memory store with the real compare-and-set semantics.
    store = {
      snapshot: jest.fn(async (bp: string) => new Map(state[bp] ?? [])),
      compareAndSet: jest.fn(async (bp: string, updates: StateUpdate[]) =>
        updates.map((update) => {
          const hash = (state[bp] ??= new Map());
          if ((hash.get(update.entity)?.raw ?? null) !== update.expected) return false;
          const written = encodeStateUpdate(update);
          if (written) hash.set(update.entity, storedState(written));
          else hash.delete(update.entity);
          return true;
        }),
      ),
      isRecorded: jest.fn(async (bp: string) => recorded.has(bp)),
      markRecorded: jest.fn(async (bp: string) => void recorded.add(bp)),
      recordedBlueprints: jest.fn(async () => [...recorded]),
      storedBlueprints: jest.fn(async () => Object.keys(state)),
      forget: jest.fn(async (bp: string) => {
        recorded.delete(bp);
        delete state[bp];
      }),
    };
    intake = { accept: jest.fn(async (event: ChangeEvent) => ({ eventId: event.id, duplicate: false })) };
    sut = new ReconcileService(port, store, intake, { current: () => ruleSet }, { onStart: false });
  });

  afterEach(() => jest.restoreAllMocks());

  describe('run', () => {
    it('should only record the state on the first run of a blueprint', async () => {
      await expect(run()).resolves.toEqual({ blueprints: ['service'], recorded: ['service'], failed: [], created: 0, updated: 0, deleted: 0, queued: 0, unreported: 0 });

      expect(intake.accept).not.toHaveBeenCalled();
      expect([...state.service.keys()]).toEqual(['a', 'b']);
    });

    it('should queue one reconcile event per missed change on later runs, and none when nothing changed', async () => {
      await run();
      listings.service = [svc('a', 'Degraded'), svc('c')];

      await expect(run()).resolves.toMatchObject({ created: 1, updated: 1, deleted: 1, queued: 3 });
      await expect(run()).resolves.toMatchObject({ created: 0, updated: 0, deleted: 0, queued: 0 });

      expect(queued()).toEqual(['UPDATE a', 'CREATE c', 'DELETE b']);
      expect(intake.accept.mock.calls[0][0]).toMatchObject({ source: 'reconcile', body: { diff: { before: svc('a'), after: svc('a', 'Degraded') } } });
      // The states it reported are marked (a deletion kept as a trace), so Port's own late event for the same change is known.
      expect([...state.service].map(([id, stored]) => [id, stored.reportedByCatchUp, stored.deletedAt !== undefined])).toEqual([
        ['a', true, false],
        ['b', true, true],
        ['c', true, false],
      ]);
    });

    it('should keep a trace of a deletion it reported for the dedupe window, then drop it, reporting it once', async () => {
      let now = new Date('2026-03-01T12:00:00.000Z');
      sut = new ReconcileService(port, store, intake, { current: () => ruleSet }, { onStart: false }, { now: () => now, deletionTraceMs: 3_600_000 });
      await run();
      listings.service = [svc('a')];

      await expect(run()).resolves.toMatchObject({ deleted: 1, queued: 1 });
      expect(state.service.get('b')).toMatchObject({ deletedAt: now.getTime(), reportedByCatchUp: true });
      now = new Date(now.getTime() + 3_599_000);
      await expect(run()).resolves.toMatchObject({ deleted: 0, queued: 0 });
      expect(state.service.has('b')).toBe(true);
      now = new Date(now.getTime() + 1_000);
      await expect(run()).resolves.toMatchObject({ deleted: 0, queued: 0 });

      expect(state.service.has('b')).toBe(false);
      expect(queued()).toEqual(['DELETE b']);
    });

    it('should report an entity listed again after its deletion as created', async () => {
      await run();
      listings.service = [svc('a')];
      await run();
      listings.service = [svc('a'), svc('b', 'Degraded')];

      await expect(run()).resolves.toMatchObject({ created: 1, queued: 1 });
      expect(queued()).toEqual(['DELETE b', 'CREATE b']);
      expect(intake.accept.mock.calls[1][0]).toMatchObject({ body: { diff: { before: null, after: svc('b', 'Degraded') } } });
    });

    it('should leave out a change no event can carry, report the others, and find it again next run', async () => {
      await run();
      let deep: Record<string, unknown> = { leaf: 1 };
      for (let i = 0; i < 130; i += 1) deep = { deeper: deep };
      listings.service = [svc('a', 'Degraded'), { ...svc('deep'), properties: { deep } }, svc('b', 'Degraded')];

      await expect(run()).resolves.toMatchObject({ created: 0, updated: 2, queued: 2, unreported: 1, failed: [] });
      expect(queued()).toEqual(['UPDATE a', 'UPDATE b']);
      expect(Logger.prototype.warn).toHaveBeenCalledWith(expect.stringMatching(/^reconcile: the CREATE of service\/deep cannot be reported: the service refuses the event: body: /));
      await expect(run()).resolves.toMatchObject({ unreported: 1, queued: 0 });
    });

    it('should not queue a change a webhook recorded while the pages were read', async () => {
      await run();
      listings.service = [svc('a', 'Degraded'), svc('b')];
      port.searchEntities.mockImplementationOnce(async (bp) => {
        state.service.set('a', storedState(encodeEntityState(svc('a', 'Degraded'))));
        return { entities: listings[bp] };
      });

      await expect(run()).resolves.toMatchObject({ updated: 0, queued: 0 });
    });

    it('should reconcile each blueprint the rules name once, and none for a rule naming none', async () => {
      ruleSet = rules(['service', 'vm'], ['vm'], []);

      await expect(run()).resolves.toMatchObject({ blueprints: ['service', 'vm'] });
      expect(port.searchEntities.mock.calls.map(([bp]) => bp)).toEqual(['service', 'vm']);
    });

    it('should forget a blueprint the rules stopped naming, so naming it again only records', async () => {
      await run();
      ruleSet = rules(['vm']);
      await run();
      listings.service = [svc('a', 'Degraded')];
      ruleSet = rules(['service']);

      await expect(run()).resolves.toMatchObject({ recorded: ['service'], queued: 0 });
      expect(store.forget).toHaveBeenCalledWith('service');
    });

    it('should drop the state kept of a blueprint no rule names, though never recorded by catch-up', async () => {
      state.otherbp = new Map([['x', storedState(encodeEntityState(svc('x')))]]);

      await run();

      expect(store.forget).toHaveBeenCalledWith('otherbp');
      expect(state.otherbp).toBeUndefined();
    });

    it('should follow next cursors with limit 500', async () => {
      port.searchEntities
        .mockResolvedValueOnce({ entities: [svc('a')], next: 'c1' })
        .mockResolvedValueOnce({ entities: [svc('b')], next: 'c2' })
        .mockResolvedValueOnce({ entities: [svc('c')] });

      await run();

      expect(port.searchEntities.mock.calls.map(([, page]) => [page.limit, page.from])).toEqual([[500, undefined], [500, 'c1'], [500, 'c2']]);
      expect([...state.service.keys()]).toEqual(['a', 'b', 'c']);
    });

    it('should wait out a 429 and read the same page again', async () => {
      port.searchEntities.mockRejectedValueOnce(new RateLimitedActionError('429', 20));

      await expect(run()).resolves.toMatchObject({ failed: [], recorded: ['service'] });
      expect(port.searchEntities).toHaveBeenCalledTimes(2);
    });

    it('should log a failing blueprint and go on with the others', async () => {
      ruleSet = rules(['gone', 'service']);
      port.searchEntities.mockRejectedValueOnce(new PermanentActionError('404', 404));

      await expect(run()).resolves.toMatchObject({ blueprints: ['service'], failed: ['gone'] });
      expect(Logger.prototype.error).toHaveBeenCalledWith(expect.stringContaining('gone'));
    });

    it('should put back the claimed changes it could not queue, so the next run finds them', async () => {
      await run();
      listings.service = [svc('a', 'Degraded'), svc('b', 'Degraded')];
      intake.accept.mockResolvedValueOnce({ eventId: 'x', duplicate: false }).mockRejectedValueOnce(new Error('queue unavailable'));

      await expect(run()).resolves.toMatchObject({ failed: ['service'], queued: 1 });
      await expect(run()).resolves.toMatchObject({ updated: 1, queued: 1 });
      expect(queued()).toEqual(['UPDATE a', 'UPDATE b', 'UPDATE b']);
    });

    it('should put back a deletion it could not queue, so the next run reports it', async () => {
      await run();
      listings.service = [];
      intake.accept.mockResolvedValueOnce({ eventId: 'x', duplicate: false }).mockRejectedValueOnce(new Error('queue unavailable'));

      await expect(run()).resolves.toMatchObject({ failed: ['service'], queued: 1 });
      expect(state.service.get('b')).toMatchObject({ raw: encodeEntityState(svc('b')), reportedByCatchUp: false });
      await expect(run()).resolves.toMatchObject({ deleted: 1, queued: 1 });
      expect(queued()).toEqual(['DELETE a', 'DELETE b', 'DELETE b']);
    });
  });

  describe('trigger', () => {
    it('should abort a run still in progress and finish the new one', async () => {
      port.searchEntities.mockImplementationOnce(
        (_bp, page) => new Promise((_resolve, reject) => page.signal!.addEventListener('abort', () => reject(page.signal!.reason))),
      );

      const first = sut.trigger();
      await new Promise((resolve) => setImmediate(resolve));
      const second = sut.trigger();

      await expect(first).resolves.toBeUndefined();
      await expect(second).resolves.toMatchObject({ recorded: ['service'] });
      expect(Logger.prototype.warn).toHaveBeenCalledWith('reconcile run aborted: a newer reconcile run started');
    });
  });

  describe('the interval while a run is in progress', () => {
    const metrics = () => ({ reconcileRuns: { inc: jest.fn() }, reconcileLastCompleted: { set: jest.fn() }, reconcileBlueprintFailures: { inc: jest.fn() } });
    let m: ReturnType<typeof metrics>;
    beforeEach(() => {
      jest.useFakeTimers();
      m = metrics();
      sut = new ReconcileService(port, store, intake, { current: () => ruleSet }, { onStart: true, intervalMs: 60_000 }, { metrics: m as never });
    });
    afterEach(async () => {
      await sut.stop();
      jest.useRealTimers();
    });

    it('should let a run that reads a page every 25 s finish though it takes 3 intervals, skipping those intervals', async () => {
      // 8 pages of 25 s: 200 s, longer than 3 intervals of 60 s.
      let page = 0;
      port.searchEntities.mockImplementation(async () => {
        await new Promise((resolve) => setTimeout(resolve, 25_000));
        page += 1;
        return { entities: [svc(`e${page}`)], next: page < 8 ? `c${page}` : undefined };
      });

      sut.start();
      await jest.advanceTimersByTimeAsync(201_000);

      expect(port.searchEntities).toHaveBeenCalledTimes(8);
      expect([...state.service.keys()]).toHaveLength(8);
      expect(m.reconcileRuns.inc.mock.calls).toEqual([[{ outcome: 'completed' }, 0], [{ outcome: 'skipped' }], [{ outcome: 'skipped' }], [{ outcome: 'skipped' }], [{ outcome: 'completed' }]]);
      expect(sut.status()).toMatchObject({ name: 'reconcile', state: 'idle', detail: expect.stringMatching(/^last run completed at /) });
    });

    it('should abort a run that made no progress for a whole interval and start a new one', async () => {
      port.searchEntities.mockImplementationOnce(
        (_bp, request) => new Promise((_resolve, reject) => request.signal!.addEventListener('abort', () => reject(request.signal!.reason))),
      );

      sut.start();
      await jest.advanceTimersByTimeAsync(59_000);
      expect(sut.status()).toMatchObject({ state: 'running', detail: 'no run has ended yet' });
      await jest.advanceTimersByTimeAsync(2_000);

      expect(Logger.prototype.warn).toHaveBeenCalledWith('reconcile run aborted: it made no progress for 60 s');
      expect(m.reconcileRuns.inc.mock.calls).toEqual([[{ outcome: 'completed' }, 0], [{ outcome: 'aborted' }], [{ outcome: 'completed' }]]);
      expect(recorded.has('service')).toBe(true);
    });

    it('should report a run whose blueprint failed as failing, in readiness and metrics', async () => {
      port.searchEntities.mockRejectedValueOnce(new PermanentActionError('404', 404));

      sut.start();
      await jest.advanceTimersByTimeAsync(1_000);

      expect(sut.status()).toMatchObject({ state: 'failing', detail: expect.stringMatching(/^last run failed at .*; failed: service$/) });
      expect(m.reconcileBlueprintFailures.inc).toHaveBeenCalledWith({ blueprint: 'service' });
      expect(m.reconcileLastCompleted.set).not.toHaveBeenCalled();
    });
  });

  describe('start / stop', () => {
    it('should run at start and then every interval until stopped', async () => {
      jest.useFakeTimers();
      sut = new ReconcileService(port, store, intake, { current: () => ruleSet }, { onStart: true, intervalMs: 60_000 });

      sut.start();
      await jest.advanceTimersByTimeAsync(120_000);
      await sut.stop();
      await jest.advanceTimersByTimeAsync(120_000);
      jest.useRealTimers();

      expect(port.searchEntities).toHaveBeenCalledTimes(3);
    });
  });
});
