import { buildAppConfig } from './app-config';
import { ConfigurationError } from './validate-environment';

describe('buildAppConfig', () => {
  it('should apply SPEC defaults to an empty environment', () => {
    const config = buildAppConfig({});

    expect(config).toMatchObject({
      http: { port: 3000, host: '0.0.0.0' },
      redis: { url: 'redis://127.0.0.1:6379' },
      queuePrefix: 'reactor',
      role: 'all',
      rulesFile: './rules.yaml',
      port: { apiUrl: 'https://api.port.io/v1' },
      webhookSignature: 'off',
      httpActionAllowedHosts: [],
      logLevel: 'info',
      logSync: false,
      workerConcurrency: 32,
      workerProcess: 'child',
      workerProcessHangMs: 30_000,
    });
  });

  it('should give each part of ROLE=all the same settings under its own role', () => {
    const config = buildAppConfig({ WORKER_PROCESS: 'child', WORKER_CONCURRENCY: '7', WORKER_PROCESS_HANG_SECONDS: '5' });
    const api = config.withRole('api');
    const worker = config.withRole('worker');

    expect([api.runsApi, api.runsWorkers, worker.runsApi, worker.runsWorkers]).toEqual([true, false, false, true]);
    expect(worker).toMatchObject({ workerConcurrency: 7, workerProcess: 'child', workerProcessHangMs: 5_000, queuePrefix: 'reactor' });
    expect(config.role).toBe('all');
  });

  it('should require signatures by default once the client secret is set, and treat blank values as unset', () => {
    expect(buildAppConfig({ PORT_CLIENT_SECRET: 's' }).webhookSignature).toBe('required');
    expect(buildAppConfig({ PORT_CLIENT_SECRET: 's', WEBHOOK_SIGNATURE: '' }).webhookSignature).toBe('required');
    expect(buildAppConfig({ PORT_CLIENT_SECRET: 's', WEBHOOK_SIGNATURE: 'off' }).webhookSignature).toBe('off');
  });

  it('should read lists and numbers', () => {
    const config = buildAppConfig({ PORT: '8080', HTTP_ACTION_ALLOWED_HOSTS: ' Scaler.internal, 10.0.0.5:8443 ,', ROLE: 'worker', WORKER_CONCURRENCY: '200' });

    expect(config.http.port).toBe(8080);
    expect(config.workerConcurrency).toBe(200);
    expect(config.httpActionAllowedHosts).toEqual(['scaler.internal', '10.0.0.5:8443']);
    expect(config.runsApi).toBe(false);
    expect(config.runsWorkers).toBe(true);
  });

  it("should keep Kafka's 30 s consumer session unless KAFKA_SESSION_TIMEOUT_MS says otherwise", () => {
    const kafka = { KAFKA_BROKERS: 'b:9092', KAFKA_ORG_ID: 'org_1' };

    expect(buildAppConfig(kafka).kafka?.sessionTimeoutMs).toBe(30_000);
    expect(buildAppConfig({ ...kafka, KAFKA_SESSION_TIMEOUT_MS: '6000' }).kafka?.sessionTimeoutMs).toBe(6_000);
  });

  it.each([
    ['PORT', { PORT: 'eighty' }],
    ['PORT', { PORT: '70000' }],
    ['REDIS_URL', { REDIS_URL: 'localhost:6379' }],
    ['REDIS_URL', { REDIS_URL: 'redis://user:S3cretPw@127.0.0.1:70000' }],
    ['REDIS_URL', { REDIS_URL: 'redis://user:S3cretPw@127.0.0.1:6379/abc' }],
    ['REDIS_URL', { REDIS_URL: 'redis://user:S3cret%ZZ@127.0.0.1:6379' }],
    ['REDIS_URL', { REDIS_URL: 'redis://user:S3cretPw@:6379' }],
    ['ROLE', { ROLE: 'both' }],
    ['WEBHOOK_SIGNATURE', { WEBHOOK_SIGNATURE: 'yes' }],
    ['PORT_CLIENT_SECRET', { WEBHOOK_SIGNATURE: 'required' }],
    ['SLACK_WEBHOOK_URL', { SLACK_WEBHOOK_URL: 'not a url' }],
    ['SLACK_WEBHOOK_URL', { SLACK_WEBHOOK_URL: 'notaurl' }],
    ['SLACK_WEBHOOK_URL', { SLACK_WEBHOOK_URL: 'hooks.slack.com/services/T/B/x' }],
    ['PORT_API_URL', { PORT_API_URL: 'api.port.io/v1' }],
    ['SMEE_URL', { SMEE_URL: 'smee.io/abc' }],
    ['SMEE_URL', { SMEE_URL: 'https://user:pass@smee.io/abc' }],
    ['RECONCILE_INTERVAL', { RECONCILE_INTERVAL: '600h', PORT_CLIENT_ID: 'id', PORT_CLIENT_SECRET: 'secret' }],
    ['RECONCILE_INTERVAL', { RECONCILE_INTERVAL: '5', PORT_CLIENT_ID: 'id', PORT_CLIENT_SECRET: 'secret' }],
    ['PUBLIC_URL', { REGISTER_CHANGELOG_DESTINATION: 'true', PUBLIC_URL: 'reactor.example.com', PORT_CLIENT_ID: 'id', PORT_CLIENT_SECRET: 'secret' }],
    ['ADMIN_TOKEN', { ADMIN_TOKEN: 'short' }],
    ['QUEUE_PREFIX', { QUEUE_PREFIX: 'has space' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
    ['KAFKA_SESSION_TIMEOUT_MS', { KAFKA_SESSION_TIMEOUT_MS: '1000' }],
    ['WORKER_CONCURRENCY', { WORKER_CONCURRENCY: '0' }],
    ['WORKER_CONCURRENCY', { WORKER_CONCURRENCY: 'lots' }],
    ['WORKER_PROCESS', { WORKER_PROCESS: 'thread' }],
    ['WORKER_PROCESS_HANG_SECONDS', { WORKER_PROCESS_HANG_SECONDS: '1' }],
    ['WORKER_PROCESS_HANG_SECONDS', { WORKER_PROCESS_HANG_SECONDS: 'never' }],
  ])('should refuse a bad %s with one message naming it', (name, env) => {
    let error: unknown;
    try {
      buildAppConfig(env);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain(name);
    expect((error as Error).message).not.toContain('\n');
    expect((error as Error).message).not.toContain('S3cret');
  });

  it.each([
    [{ REDIS_URL: 'redis://user:pw@127.0.0.1:99999' }, 'Invalid configuration: REDIS_URL is not a valid URL (a port above 65535'],
    [{ REDIS_URL: 'redis://127.0.0.1:6379/cache' }, 'Invalid configuration: REDIS_URL names its database by number only'],
    [{ REDIS_URL: 'redis://:p%ZZ@127.0.0.1' }, 'Invalid configuration: REDIS_URL has a malformed %-escape in its user or password'],
  ])('should say what is wrong with a REDIS_URL the connection could not use: %j', (env, message) => {
    expect(() => buildAppConfig(env)).toThrow(message);
  });

  it('should take a REDIS_URL with user, %-encoded password, IPv6 host and database', () => {
    expect(buildAppConfig({ REDIS_URL: 'rediss://default:p%40ss@[::1]:6380/2' }).redis.url).toBe('rediss://default:p%40ss@[::1]:6380/2');
    expect(buildAppConfig({ REDIS_URL: 'redis://redis' }).redis.url).toBe('redis://redis');
  });

  it('should take a RECONCILE_INTERVAL up to 168h (Node timers hold 24.8 days at most)', () => {
    expect(buildAppConfig({ RECONCILE_INTERVAL: '168h', PORT_CLIENT_ID: 'id', PORT_CLIENT_SECRET: 'secret' }).reconcile?.intervalMs).toBe(604_800_000);
  });

  it.each([
    [{ KAFKA_BROKERS: 'k:9092' }, 'Invalid configuration: KAFKA_ORG_ID must be set when KAFKA_BROKERS is'],
    [{ KAFKA_BROKERS: 'k:9092', KAFKA_ORG_ID: 'org', KAFKA_USERNAME: 'u' }, 'Invalid configuration: KAFKA_PASSWORD must be set when KAFKA_USERNAME is'],
  ])('should say which variable a Kafka setting needs: %j', (env, message) => {
    expect(() => buildAppConfig(env)).toThrow(message);
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT must be an integer number'],
    [{ WORKER_CONCURRENCY: 'ten' }, 'WORKER_CONCURRENCY must be an integer number'],
    [{ DEDUPE_TTL_SECONDS: '1d' }, 'DEDUPE_TTL_SECONDS must be an integer number'],
  ])('should call a number written as text not a number, whatever its bounds: %j', (env, message) => {
    expect(() => buildAppConfig(env)).toThrow(`Invalid configuration: ${message}`);
  });

  it('should never echo a secret value in its message', () => {
    expect(() => buildAppConfig({ ADMIN_TOKEN: 'tiny-secret' })).toThrow(expect.objectContaining({ message: expect.not.stringContaining('tiny-secret') }));
  });
});
