import { Logger } from '@nestjs/common';
import { PermanentActionError, RateLimitedActionError } from '../actions/action-errors';
import type { EntityPage, EntityPageRequest } from '../actions/port/port-api.client';
import type { ChangeEvent, EntitySnapshot } from '../changes/change-event';
import type { RuleSet } from '../rules/rule.types';
import { encodeEntityState, storedState, type StoredEntityState } from './entity-state';
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
        updates.map(({ entity, expected, next }) => {
          const hash = (state[bp] ??= new Map());
          if ((hash.get(entity)?.raw ?? null) !== expected) return false;
          if (next) hash.set(entity, storedState(encodeEntityState(next)));
          else hash.delete(entity);
          return true;
        }),
      ),
      isRecorded: jest.fn(async (bp: string) => recorded.has(bp)),
      markRecorded: jest.fn(async (bp: string) => void recorded.add(bp)),
      recordedBlueprints: jest.fn(async () => [...recorded]),
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
      await expect(run()).resolves.toEqual({ blueprints: ['service'], recorded: ['service'], failed: [], created: 0, updated: 0, deleted: 0, queued: 0 });

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
