import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { EntitySnapshot } from '../../changes/change-event';
import { ActionError, PermanentActionError, TransientActionError } from '../action-errors';
import { OutboundHttpClient, type OutboundResponse } from '../http/outbound-http.client';

export interface PortApiClientConfig {
  /** `PORT_API_URL`, e.g. `https://api.port.io/v1`. */
  baseUrl: string;
  clientId?: string;
  clientSecret?: string;
  /** Per-request timeout; 10 s when unset. */
  timeoutMs?: number;
  /** Clock for the token's expiry (injected by tests). */
  now?: () => number;
}

/** The fields of an entity a `port` action may change. */
export interface EntityPatch {
  properties?: Record<string, unknown>;
  relations?: Record<string, unknown>;
  title?: string;
  team?: unknown;
  icon?: string;
}

/** One page of `POST /blueprints/:id/entities/search`; `next` is passed back as `from` until absent. */
export interface EntityPage {
  entities: EntitySnapshot[];
  next?: string;
}

export interface EntityPageRequest {
  /** Port accepts 1 to 1000. */
  limit: number;
  /** The `next` of the previous page. */
  from?: string;
  signal?: AbortSignal;
}

export interface ChangelogDestination {
  type: string;
  url?: string;
  [key: string]: unknown;
}

/** The parts of a Port blueprint this service reads; everything else is kept as sent. */
export interface PortBlueprint {
  identifier: string;
  changelogDestination?: ChangelogDestination | null;
  [key: string]: unknown;
}

export interface BlueprintPatch {
  changelogDestination?: ChangelogDestination;
}

const REFRESH_MARGIN_MS = 60_000;

/**
 * Port REST API with a machine token: cached until a minute before it expires, fetched once
 * for concurrent callers, and refreshed once when a call answers 401. Errors are the same
 * `ActionError`s as other outbound calls.
 */
@Injectable()
export class PortApiClient implements OnApplicationShutdown {
  private readonly http: OutboundHttpClient;
  private readonly baseUrl: string;
  private readonly now: () => number;
  private token?: { value: string; refreshAt: number };
  private pending?: Promise<string>;

  constructor(private readonly config: PortApiClientConfig) {
    this.baseUrl = config.baseUrl.replace(/\/+$/, '');
    // The operator sets PORT_API_URL, so its host is trusted even when private (self-hosted Port, tests).
    this.http = new OutboundHttpClient({ allowedHosts: [new URL(this.baseUrl).host], defaultTimeoutMs: config.timeoutMs });
    this.now = config.now ?? Date.now;
  }

  async getToken(): Promise<string> {
    if (this.token && this.now() < this.token.refreshAt) return this.token.value;
    this.pending ??= this.fetchToken().finally(() => (this.pending = undefined));
    return this.pending;
  }

  async patchEntity(blueprint: string, entity: string, patch: EntityPatch): Promise<OutboundResponse> {
    const url = `${this.baseUrl}/blueprints/${encodeURIComponent(blueprint)}/entities/${encodeURIComponent(entity)}`;
    return this.withToken((token) =>
      this.http.request({ method: 'PATCH', url, headers: bearer(token), body: patch, reasonFromBody: portErrorCode }),
    );
  }

  /** One page of a blueprint's entities (no query: all of them). */
  async searchEntities(blueprint: string, page: EntityPageRequest): Promise<EntityPage> {
    const url = `${this.baseUrl}/blueprints/${encodeURIComponent(blueprint)}/entities/search`;
    const body = { limit: page.limit, ...(page.from !== undefined ? { from: page.from } : {}) };
    const answer = await this.withToken((token) =>
      this.http.readJson({ method: 'POST', url, headers: bearer(token), body, signal: page.signal, reasonFromBody: portErrorCode }),
    );
    return parseEntityPage(answer, url);
  }

  async getBlueprint(id: string, signal?: AbortSignal): Promise<PortBlueprint> {
    const url = `${this.baseUrl}/blueprints/${encodeURIComponent(id)}`;
    const answer = await this.withToken((token) =>
      this.http.readJson<{ blueprint?: unknown }>({ method: 'GET', url, headers: bearer(token), signal, reasonFromBody: portErrorCode }),
    );
    const blueprint = answer?.blueprint as PortBlueprint | undefined;
    if (typeof blueprint !== 'object' || blueprint === null || Array.isArray(blueprint)) {
      throw new TransientActionError(`GET ${new URL(url).host}${new URL(url).pathname}: the answer has no blueprint`);
    }
    return blueprint;
  }

  async patchBlueprint(id: string, patch: BlueprintPatch): Promise<OutboundResponse> {
    const url = `${this.baseUrl}/blueprints/${encodeURIComponent(id)}`;
    return this.withToken((token) =>
      this.http.request({ method: 'PATCH', url, headers: bearer(token), body: patch, reasonFromBody: portErrorCode }),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.http.onApplicationShutdown();
  }

  private async withToken<T>(call: (token: string) => Promise<T>): Promise<T> {
    const token = await this.getToken();
    try {
      return await call(token);
    } catch (error) {
      if (!(error instanceof ActionError) || error.statusCode !== 401) throw error;
      // Revoked or rotated before its expiry: one fresh token, one more try.
      if (this.token?.value === token) this.token = undefined;
      return call(await this.getToken());
    }
  }

  private async fetchToken(): Promise<string> {
    const { clientId, clientSecret } = this.config;
    if (!clientId || !clientSecret) {
      throw new PermanentActionError('port actions need PORT_CLIENT_ID and PORT_CLIENT_SECRET');
    }
    const response = await this.http
      .request({ method: 'POST', url: `${this.baseUrl}/auth/access_token`, body: { clientId, clientSecret }, reasonFromBody: portErrorCode })
      .catch((error: unknown) => {
        if (error instanceof PermanentActionError && (error.statusCode === 401 || error.statusCode === 403)) {
          throw new PermanentActionError(`${error.message}: check PORT_CLIENT_ID and PORT_CLIENT_SECRET`, error.statusCode);
        }
        throw error;
      });
    const { accessToken, expiresIn } = parseToken(response.body);
    this.token = { value: accessToken, refreshAt: this.now() + expiresIn * 1000 - REFRESH_MARGIN_MS };
    return accessToken;
  }
}

function parseToken(body: string): { accessToken: string; expiresIn: number } {
  let parsed: { accessToken?: unknown; expiresIn?: unknown } | undefined;
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    parsed = undefined;
  }
  if (typeof parsed?.accessToken !== 'string' || typeof parsed.expiresIn !== 'number') {
    throw new TransientActionError('Port token answer has no accessToken/expiresIn');
  }
  return { accessToken: parsed.accessToken, expiresIn: parsed.expiresIn };
}

function parseEntityPage(answer: unknown, url: string): EntityPage {
  const { entities, next } = (answer ?? {}) as { entities?: unknown; next?: unknown };
  if (!Array.isArray(entities)) {
    const { host, pathname } = new URL(url);
    throw new TransientActionError(`POST ${host}${pathname}: the answer has no entities list`);
  }
  const page = entities.filter((entity): entity is EntitySnapshot => typeof entity === 'object' && entity !== null && !Array.isArray(entity));
  return typeof next === 'string' && next !== '' ? { entities: page, next } : { entities: page };
}

function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}`, 'user-agent': 'changelog-reactor' };
}

// Port errors are `{"ok":false,"error":"not_found","message":"…"}`; only the code is safe to quote.
function portErrorCode(body: string): string | undefined {
  try {
    const code = (JSON.parse(body) as { error?: unknown }).error;
    return typeof code === 'string' && /^[a-z_]{1,64}$/.test(code) ? code : undefined;
  } catch {
    return undefined;
  }
}
