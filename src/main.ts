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
    const logger = app.get(Logger);
    logger.log(`${signal}: shutting down: no new webhooks`, 'Main');
    await closeHttpServer(app);
    if (app.get(AppConfig).runsApi) await app.get(SourcesService).stopAll();
    logger.log('HTTP server and sources closed; finishing active jobs', 'Main');
    await app.close();
    logger.log('stopped', 'Main');
    process.exit(0);
  };
  process.once('SIGTERM', (signal) => void stop(signal));
  process.once('SIGINT', (signal) => void stop(signal));
}

/**
 * Fastify's close() waits for every connection; a client's keep-alive socket that went idle after
 * its last in-flight request (Port, a load balancer) would hold it open for the keep-alive timeout,
 * so idle sockets are swept until the server has closed. Active requests still finish.
 */
async function closeHttpServer(app: NestFastifyApplication): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  const sweeper = setInterval(() => fastify.server.closeIdleConnections(), 100);
  try {
    await fastify.close();
  } finally {
    clearInterval(sweeper);
  }
}

main().catch((error: unknown) => {
  // One clear line for configuration and rules-file mistakes; no stack trace for the operator to dig through.
  process.stderr.write(`changelog-reactor: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
