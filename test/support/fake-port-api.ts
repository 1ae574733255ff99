import type { ServerResponse } from 'node:http';
import { MockTarget, type ReceivedRequest } from './mock-target';

export interface FakePortApi {
  server: MockTarget;
  /** `http://127.0.0.1:<port>/v1` */
  baseUrl: string;
  tokenRequests(): ReceivedRequest[];
  apiRequests(): ReceivedRequest[];
  /** Token handed out next (`tok-1`, `tok-2`, … by default). */
  tokens: string[];
  /** Tokens the API answers 401 for. */
  revoked: Set<string>;
  /** Delay before answering a token request, to overlap concurrent callers. */
  tokenDelayMs: number;
}

const TOKEN_PATH = '/v1/auth/access_token';

/** A Port API stand-in: `POST /v1/auth/access_token` and `PATCH /v1/blueprints/:bp/entities/:id`. */
export async function startFakePortApi(expiresIn = 3600): Promise<FakePortApi> {
  let issued = 0;
  const server = await new MockTarget().start();
  const fake: FakePortApi = {
    server,
    baseUrl: server.url('/v1'),
    tokenRequests: () => server.requests.filter((req) => req.path === TOKEN_PATH),
    apiRequests: () => server.requests.filter((req) => req.path !== TOKEN_PATH),
    tokens: [],
    revoked: new Set(),
    tokenDelayMs: 0,
  };
  server.otherwise((req, res) => {
    if (req.path === TOKEN_PATH) {
      const accessToken = fake.tokens.shift() ?? `tok-${++issued}`;
      setTimeout(() => json(res, 200, { ok: true, accessToken, expiresIn, tokenType: 'Bearer' }), fake.tokenDelayMs);
      return;
    }
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    if (!token || fake.revoked.has(token)) return json(res, 401, { ok: false, error: 'unauthorized' });
    json(res, 200, { ok: true, entity: req.body ?? {} });
  });
  return fake;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
