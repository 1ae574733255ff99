import { reply, startLocalServer, type LocalHttpServer, type RecordedRequest } from './local-http-server';

export interface FakePortApi {
  server: LocalHttpServer;
  /** `http://127.0.0.1:<port>/v1` */
  baseUrl: string;
  tokenRequests(): RecordedRequest[];
  apiRequests(): RecordedRequest[];
  /** Token handed out next (`tok-1`, `tok-2`, … by default). */
  tokens: string[];
  /** Tokens the API answers 401 for. */
  revoked: Set<string>;
  /** Delay before answering a token request, to overlap concurrent callers. */
  tokenDelayMs: number;
}

/** A Port API stand-in: `POST /v1/auth/access_token` and `PATCH /v1/blueprints/:bp/entities/:id`. */
export async function startFakePortApi(expiresIn = 3600): Promise<FakePortApi> {
  let issued = 0;
  const fake: Omit<FakePortApi, 'server' | 'baseUrl'> = {
    tokenRequests: () => server.requests.filter((req) => req.url === '/v1/auth/access_token'),
    apiRequests: () => server.requests.filter((req) => req.url !== '/v1/auth/access_token'),
    tokens: [],
    revoked: new Set(),
    tokenDelayMs: 0,
  };
  const server = await startLocalServer((req, res) => {
    if (req.url === '/v1/auth/access_token') {
      const accessToken = fake.tokens.shift() ?? `tok-${++issued}`;
      const body = JSON.stringify({ ok: true, accessToken, expiresIn, tokenType: 'Bearer' });
      setTimeout(() => reply(res, 200, body, { 'content-type': 'application/json' }), fake.tokenDelayMs);
      return;
    }
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    if (!token || fake.revoked.has(token)) return reply(res, 401, JSON.stringify({ ok: false, error: 'unauthorized' }));
    reply(res, 200, JSON.stringify({ ok: true, entity: JSON.parse(req.body || '{}') }), { 'content-type': 'application/json' });
  });
  return { ...fake, server, baseUrl: `${server.origin}/v1` };
}
