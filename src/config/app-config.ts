import { EnvironmentVariables } from './environment-variables';
import { ConfigurationError, validateEnvironment } from './validate-environment';

export type Role = 'api' | 'worker' | 'all';

/** The typed configuration every module receives; built once from the validated environment. */
export class AppConfig {
  /**
   * `requestTimeoutMs`: how long a client may take to send one request, headers and body, before the
   * service answers 408 and closes its connection (a stalled or trickling client holds no socket).
   */
  http: { port: number; host: string; bodyLimitBytes: number; requestTimeoutMs: number };
  redis: { url: string };
  queuePrefix: string;
  role: Role;
  /** ROLE=all: `child` runs the workers in a process of their own (a second event loop), `inline` in this one. */
  workerProcess: 'child' | 'inline';
  /** ROLE=all with `child`: a worker process that answers no ping for this long is hung; the service stops. */
  workerProcessHangMs: number;
  rulesFile: string;
  port: { clientId?: string; clientSecret?: string; apiUrl: string };
  webhookSignature: 'required' | 'off';
  slack: { defaultWebhookUrl?: string };
  smeeUrl?: string;
  /** Set when KAFKA_BROKERS is: consume `${orgId}.change.log`. */
  kafka?: { brokers: string[]; orgId: string; groupId: string; sasl?: { username: string; password: string }; ssl: boolean; topic: string; sessionTimeoutMs: number };
  adminToken?: string;
  /** Catch-up from the Port API; set when RECONCILE_INTERVAL and Port credentials are. */
  reconcile?: { intervalMs: number; onStart: boolean };
  /** REGISTER_CHANGELOG_DESTINATION=true: point the rules' blueprints at `${publicUrl}/webhooks/port` at start. */
  registration?: { publicUrl: string };
  httpActionAllowedHosts: string[];
  logLevel: string;
  /** LOG_SYNC=true: each line written at once, synchronously; otherwise lines are written in batches. */
  logSync: boolean;
  dedupeTtlSeconds: number;
  eventRetentionSeconds: number;
  /** Messages per second per Slack webhook URL (Slack allows about one). */
  slackMaxPerSecond: number;
  /** Tries per action (first send included) and the first retry delay; later delays double. */
  actionRetry: { attempts: number; baseDelayMs: number };
  /** Actions one worker process runs at once (each waits on its target for up to its timeout). */
  workerConcurrency: number;
  /** Values for `${NAME}` in the rules file (the process environment at boot). */
  ruleVariables: Readonly<Record<string, string | undefined>>;

  get runsApi(): boolean {
    return this.role !== 'worker';
  }

  get runsWorkers(): boolean {
    return this.role !== 'api';
  }

  /** The same settings for one part of ROLE=all: its api process or its worker process. */
  withRole(role: Role): AppConfig {
    return Object.assign(new AppConfig(), this, { role });
  }
}

export function buildAppConfig(env: Record<string, string | undefined>): AppConfig {
  const vars: EnvironmentVariables = validateEnvironment(env);
  return Object.assign(new AppConfig(), {
    http: { port: vars.PORT ?? 3000, host: vars.HOST ?? '0.0.0.0', bodyLimitBytes: 1024 * 1024, requestTimeoutMs: 30_000 },
    redis: { url: vars.REDIS_URL ?? 'redis://127.0.0.1:6379' },
    queuePrefix: vars.QUEUE_PREFIX ?? 'reactor',
    role: vars.ROLE ?? 'all',
    workerProcess: vars.WORKER_PROCESS ?? 'child',
    workerProcessHangMs: (vars.WORKER_PROCESS_HANG_SECONDS ?? 30) * 1000,
    rulesFile: vars.RULES_FILE ?? './rules.yaml',
    port: {
      clientId: vars.PORT_CLIENT_ID,
      clientSecret: vars.PORT_CLIENT_SECRET,
      apiUrl: (vars.PORT_API_URL ?? 'https://api.port.io/v1').replace(/\/+$/, ''),
    },
    webhookSignature: vars.WEBHOOK_SIGNATURE ?? (vars.PORT_CLIENT_SECRET ? 'required' : 'off'),
    slack: { defaultWebhookUrl: vars.SLACK_WEBHOOK_URL },
    smeeUrl: smeeUrl(vars.SMEE_URL),
    kafka: kafkaConfig(vars),
    reconcile: reconcileConfig(vars),
    registration: registrationConfig(vars),
    adminToken: vars.ADMIN_TOKEN,
    httpActionAllowedHosts: splitList(vars.HTTP_ACTION_ALLOWED_HOSTS),
    logLevel: vars.LOG_LEVEL ?? 'info',
    logSync: vars.LOG_SYNC === 'true',
    dedupeTtlSeconds: vars.DEDUPE_TTL_SECONDS ?? 86_400,
    eventRetentionSeconds: vars.EVENT_RETENTION_SECONDS ?? 7 * 86_400,
    slackMaxPerSecond: vars.SLACK_MAX_PER_SECOND ?? 1,
    actionRetry: { attempts: vars.ACTION_ATTEMPTS ?? 8, baseDelayMs: vars.ACTION_RETRY_BASE_MS ?? 2_000 },
    workerConcurrency: vars.WORKER_CONCURRENCY ?? 32,
    ruleVariables: Object.freeze({ ...env }),
  });
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600 };
const MAX_RECONCILE_SECONDS = 7 * 24 * 3600;

function reconcileConfig(vars: EnvironmentVariables): AppConfig['reconcile'] {
  if (!vars.RECONCILE_INTERVAL) return undefined;
  if (!vars.PORT_CLIENT_ID || !vars.PORT_CLIENT_SECRET) throw new ConfigurationError(['RECONCILE_INTERVAL needs PORT_CLIENT_ID and PORT_CLIENT_SECRET']);
  const [, amount, unit] = /^(\d+)(s|m|h)?$/.exec(vars.RECONCILE_INTERVAL)!;
  const seconds = Number(amount) * UNIT_SECONDS[unit ?? 's'];
  if (seconds < 10) throw new ConfigurationError(['RECONCILE_INTERVAL must be at least 10 seconds']);
  // Node's timers hold at most 2^31-1 ms (24.8 days): a longer interval would fire every millisecond.
  if (seconds > MAX_RECONCILE_SECONDS) throw new ConfigurationError(['RECONCILE_INTERVAL must be at most 168h (7 days)']);
  return { intervalMs: seconds * 1000, onStart: vars.RECONCILE_ON_START !== 'false' };
}

/** The stream is fetched, and fetch refuses a URL with a user or password: said at start, not retried every 3 s. */
function smeeUrl(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const url = new URL(value);
  if (url.username || url.password) throw new ConfigurationError(['SMEE_URL must not carry a user or password (the stream cannot send them): use the channel URL']);
  return value;
}

function registrationConfig(vars: EnvironmentVariables): AppConfig['registration'] {
  if (vars.REGISTER_CHANGELOG_DESTINATION !== 'true') return undefined;
  if (!vars.PORT_CLIENT_ID || !vars.PORT_CLIENT_SECRET) throw new ConfigurationError(['REGISTER_CHANGELOG_DESTINATION=true needs PORT_CLIENT_ID and PORT_CLIENT_SECRET']);
  return { publicUrl: vars.PUBLIC_URL!.replace(/\/+$/, '') };
}

function kafkaConfig(vars: EnvironmentVariables): AppConfig['kafka'] {
  if (!vars.KAFKA_BROKERS || !vars.KAFKA_ORG_ID) return undefined;
  const orgId = vars.KAFKA_ORG_ID;
  const groupId = vars.KAFKA_GROUP_ID ?? `${orgId}.changelog-reactor`;
  // Port's managed Kafka only authorises consumer groups named after the org.
  if (!groupId.startsWith(orgId)) throw new ConfigurationError([`KAFKA_GROUP_ID must start with KAFKA_ORG_ID (${orgId}), as Port requires`]);
  const sasl = vars.KAFKA_USERNAME && vars.KAFKA_PASSWORD ? { username: vars.KAFKA_USERNAME, password: vars.KAFKA_PASSWORD } : undefined;
  return {
    brokers: vars.KAFKA_BROKERS.split(','),
    orgId,
    groupId,
    sasl,
    ssl: vars.KAFKA_SSL ? vars.KAFKA_SSL === 'true' : Boolean(sasl),
    topic: `${orgId}.change.log`,
    sessionTimeoutMs: vars.KAFKA_SESSION_TIMEOUT_MS ?? 30_000,
  };
}

function splitList(value: string | undefined): string[] {
  return (value ?? '').split(',').map((item) => item.trim().toLowerCase()).filter(Boolean);
}
