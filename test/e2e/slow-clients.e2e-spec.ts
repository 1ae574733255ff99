import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { connect, Socket } from 'node:net';
import { createApp } from '../../src/bootstrap';
import { buildAppConfig } from '../../src/config/app-config';
import { readSample } from '../support/port-samples';
import { NO_RULES, REDIS_URL, removeKeys, uniquePrefix, writeRulesFile } from '../support/test-app';

const REQUEST_TIMEOUT_MS = 1_000;
const body = JSON.stringify(readSample('kafka-changelog-entity-update-vm-free_storage.json'));

interface Answer {
  /** The status line, or undefined when the connection closed without one. */
  status?: string;
  closedAfterMs: number;
}

/** Writes `parts` to a raw connection, `gapMs` apart, and reports what came back and when the server closed it. */
function send(port: number, parts: string[], gapMs: number, waitMs = 5_000): Promise<Answer | 'still open'> {
  return new Promise((resolve) => {
    const started = Date.now();
    let received = '';
    const socket: Socket = connect(port, '127.0.0.1');
    const timers: NodeJS.Timeout[] = parts.map((part, i) => setTimeout(() => socket.writable && socket.write(part), i * gapMs));
    const giveUp = setTimeout(() => { socket.destroy(); resolve('still open'); }, waitMs);
    socket.on('data', (chunk) => {
      received += chunk.toString('utf8');
      // A whole answer on a kept-alive connection: done, the server is not expected to close it.
      if (/^HTTP\/1\.1 2\d\d/.test(received) && received.includes('\r\n\r\n{')) finish();
    });
    socket.on('error', () => undefined);
    socket.on('close', finish);
    function finish(): void {
      clearTimeout(giveUp);
      timers.forEach(clearTimeout);
      socket.destroy();
      resolve({ status: received ? received.split('\r\n')[0] : undefined, closedAfterMs: Date.now() - started });
    }
  });
}

const headers = (length: number) => `POST /webhooks/port HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;

describe('a client that is slow to send its request', () => {
  let app: NestFastifyApplication;
  let port: number;
  let prefix: string;

  beforeAll(async () => {
    prefix = uniquePrefix();
    const config = buildAppConfig({ REDIS_URL, QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent', ROLE: 'api', RULES_FILE: writeRulesFile(NO_RULES) });
    config.http.requestTimeoutMs = REQUEST_TIMEOUT_MS;
    app = await createApp(config, { bufferLogs: false });
    await app.listen(0, '127.0.0.1');
    port = (app.getHttpAdapter().getInstance().server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await app.close();
    await removeKeys(prefix);
  });

  it('should answer 408 and close the connection when the body stops halfway', async () => {
    const answer = await send(port, [headers(body.length) + body.slice(0, 40)], 0);
    expect(answer).not.toBe('still open');
    const { status, closedAfterMs } = answer as Answer;
    expect(status).toBe('HTTP/1.1 408 Request Timeout');
    expect(closedAfterMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 50);
  });

  it('should answer 408 and close the connection when the headers never end', async () => {
    const answer = await send(port, ['POST /webhooks/port HTTP/1.1\r\nHost: 127.0.0.1\r\n'], 0);
    expect(answer).not.toBe('still open');
    expect((answer as Answer).status).toBe('HTTP/1.1 408 Request Timeout');
  });

  it('should close a connection that trickles its body past the limit, though bytes keep coming', async () => {
    const parts = [headers(body.length), ...body.match(/[^]{1,20}/g)!];
    const answer = await send(port, parts, 200);
    expect(answer).not.toBe('still open');
    expect((answer as Answer).status).toBe('HTTP/1.1 408 Request Timeout');
  });

  it('should still take a request sent in parts within the limit', async () => {
    const answer = await send(port, [headers(body.length) + body.slice(0, 40), body.slice(40)], 300);
    expect(answer).not.toBe('still open');
    expect((answer as Answer).status).toBe('HTTP/1.1 202 Accepted');
  });

  it('should not count the time a kept-alive connection waits between requests', async () => {
    const request = headers(body.length) + body;
    const socket = connect(port, '127.0.0.1');
    const statuses: string[] = [];
    socket.on('data', (chunk) => statuses.push(...chunk.toString('utf8').split('\r\n').filter((line) => line.startsWith('HTTP/1.1'))));
    socket.write(request);
    await new Promise((resolve) => setTimeout(resolve, REQUEST_TIMEOUT_MS * 2.5));
    socket.write(request);
    await new Promise((resolve) => setTimeout(resolve, 500));
    socket.destroy();
    expect(statuses).toEqual(['HTTP/1.1 202 Accepted', 'HTTP/1.1 202 Accepted']);
  });
});
