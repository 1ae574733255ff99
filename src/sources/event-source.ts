/** What readiness and metrics report of one event source (smee, kafka) or of catch-up (reconcile). */
export interface EventSourceStatus {
  name: 'smee' | 'kafka' | 'reconcile';
  /** `running`, `idle` and `failing` are catch-up's; only `failed` (a source that gave up) makes the process unready. */
  state: 'starting' | 'connected' | 'reconnecting' | 'stopped' | 'failed' | 'running' | 'idle' | 'failing';
  /** Short, secret-free detail: the channel host, the topic, the last error code. */
  detail?: string;
}

/**
 * A way events reach the service besides Port calling the webhook. Started once the HTTP
 * server listens, stopped before the queues close; every event goes through the same
 * normalise -> dedupe -> queue path (EventIntakeService or the webhook route itself).
 */
export interface ChangeEventSource {
  readonly name: 'smee' | 'kafka';
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): EventSourceStatus;
}
