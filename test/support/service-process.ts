import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MockTarget } from './mock-target';
import { writeRulesFile } from './test-app';

/** The built service, as `npm start` runs it; CI builds before `npm test`. */
export const MAIN = join(__dirname, '..', '..', 'dist', 'main.js');

/** `node dist/main.js`, as `npm start` runs it, with every line it writes kept. */
export class ServiceProcess {
  output = '';
  private exited?: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private child?: ChildProcess;

  start(env: Record<string, string>): void {
    // A working directory of its own, so no .env of the checkout is read.
    const cwd = mkdtempSync(join(tmpdir(), 'reactor-secrets-'));
    this.child = spawn(process.execPath, [MAIN], { cwd, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [this.child.stdout!, this.child.stderr!]) stream.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
    this.exited = new Promise((resolve) => this.child!.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGTERM, then the exit code, or 'timeout' after `ms`. */
  async terminate(ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null } | 'timeout'> {
    this.child!.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
    const result = await Promise.race([this.exited!, timeout]);
    clearTimeout(timer);
    return result;
  }

  kill(): void {
    if (this.running) this.child!.kill('SIGKILL');
  }
}


/**
 * The environment of a built service (ROLE=all) whose one rule calls `scaler` at
 * `/scale/<entity>` for every vm change; the caller adds REDIS_URL, PORT and the rest.
 */
export function vmScalerServiceEnv(scaler: MockTarget, prefix: string): Record<string, string> {
  return {
    QUEUE_PREFIX: prefix, LOG_LEVEL: 'warn', HOST: '127.0.0.1', ROLE: 'all',
    HTTP_ACTION_ALLOWED_HOSTS: `127.0.0.1:${scaler.port}`,
    RULES_FILE: writeRulesFile(`
rules:
  - id: vm-scale
    blueprint: vm
    do:
      - http: { url: "${scaler.url('/scale')}/{{ .context.entity }}" }
`),
  };
}
