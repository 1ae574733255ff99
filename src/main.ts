import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { createApp } from './bootstrap';
import { AppConfig, buildAppConfig } from './config/app-config';
import { loadDotEnv } from './config/dotenv';
import { SourcesService } from './sources/sources.service';

const SHUTDOWN_GRACE_MS = 30_000;

async function main(): Promise<void> {
  loadDotEnv();
  const config = buildAppConfig(process.env);
  const app = await createApp(config);
  handleSignals(app);
  await app.listen(config.http.port, config.http.host);
  if (config.runsApi) await app.get(SourcesService).startAll();
  app.get(Logger).log(`listening on ${config.http.host}:${config.http.port} (role ${config.role}, queue prefix ${config.queuePrefix})`, 'Main');
}

/**
 * Stop taking webhooks first (in-flight requests finish), then close sources, queues and workers
 * (workers finish their active jobs); Nest's own hooks would close the workers before the HTTP server.
 */
function handleSignals(app: NestFastifyApplication): void {
  const stop = async (signal: string) => {
    setTimeout(() => process.exit(1), SHUTDOWN_GRACE_MS).unref();
    app.get(Logger).log(`${signal}: shutting down`, 'Main');
    await app.getHttpAdapter().getInstance().close();
    if (app.get(AppConfig).runsApi) await app.get(SourcesService).stopAll();
    await app.close();
    process.exit(0);
  };
  process.once('SIGTERM', (signal) => void stop(signal));
  process.once('SIGINT', (signal) => void stop(signal));
}

main().catch((error: unknown) => {
  // One clear line for configuration and rules-file mistakes; no stack trace for the operator to dig through.
  process.stderr.write(`changelog-reactor: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
