import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

/** A TCP port nothing listens on now, on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A redis-server of the test's own on loopback (nothing kept on disk), with `extra` arguments; resolves once it accepts connections. */
export function startRedis(port: number, extra: string[] = []): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extra], { stdio: 'pipe' });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('Ready to accept') && resolve(child));
    child.once('error', reject);
  });
}
