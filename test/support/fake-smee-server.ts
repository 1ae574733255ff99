import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for smee.io on 127.0.0.1, speaking what probot/smee.io's server does:
 * `GET /<channel>` with `Accept: text/event-stream` stays open, starts with `event: ready`, then
 * each delivery is a `message` whose data is `{ ...request headers, body, query, timestamp }`.
 * smee-client forwards every key but body and query as a header and re-serialises the body.
 */
export class FakeSmeeServer {
  private readonly server: Server = createServer((req, res) => this.handle(req, res));
  private readonly streams = new Map<string, Set<ServerResponse>>();
  private readonly attemptCounts = new Map<string, number>();
  private readonly refusals = new Map<string, number>();
  private messageCount = 0;
  port = 0;

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  channelUrl(channel: string): string {
    return `http://127.0.0.1:${this.port}/${channel}`;
  }

  /** Writes one delivery to every open stream of the channel; returns how many streams got it. */
  publish(channel: string, headers: Record<string, string>, body: unknown): number {
    const lowerCased = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
    const data = { 'content-type': 'application/json', ...lowerCased, body, query: {}, timestamp: Date.now() };
    const streams = [...(this.streams.get(channel) ?? [])];
    for (const res of streams) this.send(res, JSON.stringify(data));
    return streams.length;
  }

  /** Writes a message whose data is exactly `data` (which need not be a delivery) to every open stream of the channel. */
  publishRaw(channel: string, data: string): number {
    const streams = [...(this.streams.get(channel) ?? [])];
    for (const res of streams) this.send(res, data);
    return streams.length;
  }

  /** Until called again without a status, the channel answers this status instead of a stream. */
  refuse(channel: string, status?: number): void {
    if (status === undefined) this.refusals.delete(channel);
    else this.refusals.set(channel, status);
  }

  /** Open event streams of the channel (one per connected client). */
  openStreams(channel: string): number {
    return this.streams.get(channel)?.size ?? 0;
  }

  /** Stream requests the channel has received, answered or refused. */
  attempts(channel: string): number {
    return this.attemptCounts.get(channel) ?? 0;
  }

  /** Cuts every open stream at the socket, as a restarting smee.io or a lost network does. */
  dropConnections(): void {
    for (const streams of this.streams.values()) for (const res of streams) res.socket?.destroy();
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const channel = (req.url ?? '/').split('?')[0].slice(1);
    if (req.method !== 'GET' || req.headers.accept !== 'text/event-stream' || !/^[\w-]{1,128}$/.test(channel)) {
      res.writeHead(404).end();
      return;
    }
    this.attemptCounts.set(channel, this.attempts(channel) + 1);
    const refusal = this.refusals.get(channel);
    if (refusal !== undefined) {
      res.writeHead(refusal, { 'content-type': 'text/plain' }).end('refused');
      return;
    }
    const streams = this.streams.get(channel) ?? new Set<ServerResponse>();
    this.streams.set(channel, streams.add(res));
    res.on('close', () => streams.delete(res));
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    this.send(res, '{}', 'ready');
  }

  private send(res: ServerResponse, data: string, event?: string): void {
    res.write(`id: ${this.messageCount++}\n${event ? `event: ${event}\n` : ''}data: ${data}\n\n`);
  }
}
