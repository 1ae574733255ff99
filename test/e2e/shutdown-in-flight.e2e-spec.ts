import Redis from 'ioredis';
import type { ActionRecord } from '../../src/events/event-record';
import { deploymentUpdate } from '../factories/deployment-update';
import { MockTarget } from '../support/mock-target';
import { REDIS_URL, removeKeys, startTestApp, TestApp, waitFor, writeRulesFile } from '../support/test-app';

const RULES = `
rules:
  - id: deployment-degraded
    blueprint: deploymentConfig
    when:
      - changed: properties.healthStatus
    do:
      - slack: { text: "{{ .entity.properties.healthStatus }}" }
`;

/** Every action record of every event under the prefix, read straight from Redis (the app is closed). */
async function actionRecords(prefix: string): Promise<ActionRecord[]> {
  const redis = new Redis(REDIS_URL);
  try {
    const ids = await redis.zrange(`${prefix}:records`, 0, -1);
    const hashes = await Promise.all(ids.map((id) => redis.hgetall(`${prefix}:record:${id}`)));
    return hashes.flatMap((hash) => Object.entries(hash).filter(([name]) => name.startsWith('action:')).map(([, value]) => JSON.parse(value) as ActionRecord));
  } finally {
    redis.disconnect();
  }
}

describe('shutdown while a worker holds jobs', () => {
  jest.setTimeout(30_000);
  const slack = new MockTarget();
  let t: TestApp;

  beforeAll(() => slack.start());
  afterAll(() => slack.stop());

  it('should send an action it holds (paced a moment in process) before it closes its HTTP clients', async () => {
    // Five per second: the second message waits ~200 ms in the worker for its slot.
    t = await startTestApp({ RULES_FILE: writeRulesFile(RULES), SLACK_WEBHOOK_URL: slack.url('/services/T/B/shutdown'), SLACK_MAX_PER_SECOND: '5', WEBHOOK_SIGNATURE: 'off' });
    const prefix = t.config.queuePrefix;
    try {
      for (const health of ['Degraded', 'Unhealthy']) {
        const response = await t.app.inject({ method: 'POST', url: '/webhooks/port', payload: deploymentUpdate({ healthStatus: health }) });
        expect(response.statusCode).toBe(202);
      }
      await waitFor(async () => slack.requests.length >= 1, 10_000, 'the first message');

      await t.app.close();

      expect(slack.requests).toHaveLength(2);
      const records = await actionRecords(prefix);
      expect(records.map((record) => [record.status, record.attempts])).toEqual([['succeeded', 1], ['succeeded', 1]]);
    } finally {
      await removeKeys(prefix);
    }
  });
});
