import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  /** Parsed JSON, else the text, else undefined. */
  body: unknown;
  /** The body as sent, for checks on its exact serialisation. */
  rawBody: string;
  at: number;
}

export type Responder = (request: ReceivedRequest, res: ServerResponse) => void;

/** A local stand-in for Slack, a scaler or the Port API: records requests, answers as scripted. */
export class MockTarget {
  readonly requests: ReceivedRequest[] = [];
  private readonly scripted: Responder[] = [];
  private fallback: Responder = (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  private server?: Server;
  private lastPort = 0;

  /** Answers the next requests in order with these, then with the fallback. */
  script(...responders: Responder[]): this {
    this.scripted.push(...responders);
    return this;
  }

  otherwise(responder: Responder): this {
    this.fallback = responder;
    return this;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const rawBody = Buffer.concat(chunks).toString('utf8');
        const request = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: parse(rawBody), rawBody, at: Date.now() };
        this.requests.push(request);
        (this.scripted.shift() ?? this.fallback)(request, res);
      });
    });
    // A restart keeps the port, so URLs already written into rules stay valid.
    await new Promise<void>((resolve) => this.server!.listen(this.lastPort, '127.0.0.1', resolve));
    this.lastPort = this.port;
    return this;
  }

  get port(): number {
    return (this.server!.address() as AddressInfo).port;
  }

  url(path = '/'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  to(path: string): ReceivedRequest[] {
    return this.requests.filter((request) => request.path === path);
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server?.listening) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

export const status = (code: number, body = '', headers: Record<string, string> = {}): Responder => (_req, res) =>
  res.writeHead(code, { 'content-type': 'text/plain', ...headers }).end(body);

/** Never answers: for timeouts. */
export const hang: Responder = () => undefined;

/** A port nothing listens on (bound, then released): for a refused connection, or a port to give the service. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function parse(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return text;
  }
}
