import type { ServerResponse } from 'node:http';
import type { ReceivedRequest, Responder } from './mock-target';

type Entity = Record<string, unknown>;

/**
 * Port's catalog routes, answered from memory, for a `MockTarget`:
 * `new MockTarget().otherwise(catalog.responder)`. Token (`POST /v1/auth/access_token`),
 * `POST /v1/blueprints/:bp/entities/search` (paged by an opaque `next` cursor),
 * `GET` and `PATCH /v1/blueprints/:bp`. The MockTarget records every request.
 */
export interface FakePortCatalog {
  responder: Responder;
  /** Blueprint -> its entities, in listing order; edit between runs. */
  entities: Record<string, Entity[]>;
  /** Blueprint -> the blueprint JSON `GET` answers (PATCH merges into it). */
  blueprints: Record<string, Entity>;
  /** Entities per page (Port's page size; never more than the asked `limit`). */
  pageSize: number;
  /** Tokens the API answers 401 for. */
  revoked: Set<string>;
  /** Answers for the next API (not token) requests, before the catalog's: a 429, a 500. */
  faults: Responder[];
  /** Delay in ms before answering each next search request (a slow Port). */
  searchDelaysMs: number[];
}

const cursor = (offset: number) => Buffer.from(`offset:${offset}`).toString('base64url');
const offsetOf = (from: unknown) => (typeof from === 'string' ? Number(Buffer.from(from, 'base64url').toString().split(':')[1]) : 0);

export function fakePortCatalog(entities: Record<string, Entity[]> = {}): FakePortCatalog {
  let issued = 0;
  const catalog: FakePortCatalog = {
    entities,
    blueprints: Object.fromEntries(Object.keys(entities).map((id) => [id, { identifier: id, title: id }])),
    pageSize: 1000,
    revoked: new Set(),
    faults: [],
    searchDelaysMs: [],
    responder: (req, res) => {
      if (req.method === 'POST' && req.path === '/v1/auth/access_token') {
        return json(res, 200, { ok: true, accessToken: `tok-${++issued}`, expiresIn: 3600, tokenType: 'Bearer' });
      }
      const token = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
      if (!token || catalog.revoked.has(token)) return json(res, 401, { ok: false, error: 'unauthorized' });
      const fault = catalog.faults.shift();
      if (fault) return fault(req, res);
      route(catalog, req, res);
    },
  };
  return catalog;
}

function route(catalog: FakePortCatalog, req: ReceivedRequest, res: ServerResponse): void {
  const search = /^\/v1\/blueprints\/([^/]+)\/entities\/search$/.exec(req.path);
  if (search && req.method === 'POST') {
    const delay = catalog.searchDelaysMs.shift() ?? 0;
    const answer = () => searchPage(catalog, decodeURIComponent(search[1]), req.body as { limit?: number; from?: string }, res);
    // unref: an answer the client gave up waiting for must not hold the test process open.
    return void (delay > 0 ? setTimeout(answer, delay).unref() : answer());
  }
  const blueprint = /^\/v1\/blueprints\/([^/]+)$/.exec(req.path);
  const found = blueprint && catalog.blueprints[decodeURIComponent(blueprint[1])];
  if (!found) return json(res, 404, { ok: false, error: 'not_found' });
  if (req.method === 'PATCH') Object.assign(found, req.body);
  json(res, 200, { ok: true, blueprint: found });
}

function searchPage(catalog: FakePortCatalog, blueprint: string, body: { limit?: number; from?: string }, res: ServerResponse): void {
  const all = catalog.entities[blueprint];
  if (!all) return json(res, 404, { ok: false, error: 'not_found' });
  const offset = offsetOf(body?.from);
  const end = offset + Math.min(body?.limit ?? 50, catalog.pageSize);
  json(res, 200, { ok: true, entities: all.slice(offset, end), ...(end < all.length ? { next: cursor(end) } : {}) });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  if (res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
