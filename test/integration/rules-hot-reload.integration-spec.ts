import { Logger } from '@nestjs/common';
import { appendFileSync, renameSync, writeFileSync } from 'node:fs';
import { buildAppConfig } from '../../src/config/app-config';
import { RulesService } from '../../src/rules/rules.service';
import { MockTarget } from '../support/mock-target';
import { readSample } from '../support/port-samples';
import { startTestApp, TestApp, waitFor, writeRulesFile } from '../support/test-app';

const entity = readSample('entity-deploymentConfig-notification-service-prod.json') as { properties: Record<string, unknown> };

let sequence = 0;
/** A deploymentConfig UPDATE, Healthy -> Degraded, with a trigger.at of its own so it is never a duplicate. */
function deploymentDegraded() {
  sequence += 1;
  const before = { ...entity, blueprint: 'deploymentConfig' };
  return {
    action: 'UPDATE', resourceType: 'entity', status: 'SUCCESS',
    trigger: { by: { orgId: 'org_1', userId: 'someone@example.com' }, origin: 'UI', at: new Date(Date.UTC(2030, 0, 1) + sequence * 1000).toISOString() },
    context: { entity: 'notification-service-prod', blueprint: 'deploymentConfig', runId: null },
    diff: { before, after: { ...before, properties: { ...entity.properties, healthStatus: 'Degraded' } } },
  };
}

function rulesText(text: string): string {
  return `
rules:
  - id: deployment-degraded
    blueprint: deploymentConfig
    when:
      - changed: properties.healthStatus
        to: Degraded
    do:
      - slack:
          text: "${text}"
`;
}

// Refused whole: a jq expression jq cannot compile, and an id used twice.
const INVALID_RULES = `
rules:
  - id: deployment-degraded
    when:
      - jq: '.a |||'
    do:
      - slack: { text: "v3" }
  - id: deployment-degraded
    do:
      - slack: { text: "v3 again" }
`;

/** As editors save: write a sibling file, then rename it over the watched one (new inode). */
function replaceFile(path: string, text: string): void {
  const temporary = `${path}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, path);
}

describe(RulesService.name, () => {
  describe('reload', () => {
    let errorLog: jest.SpyInstance;
    // Outside an app Nest's Logger prints to the console: keep the run quiet, but see what was said.
    beforeEach(() => {
      errorLog = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    });
    afterEach(() => jest.restoreAllMocks());

    it('should return false and keep the current rules when the new file is invalid', async () => {
      const path = writeRulesFile(rulesText('v1'));
      const sut = new RulesService(buildAppConfig({ RULES_FILE: path, SLACK_WEBHOOK_URL: 'http://127.0.0.1:9/hook', LOG_LEVEL: 'silent' }));
      expect(await sut.reload()).toBe(true);
      const loaded = sut.current();

      replaceFile(path, INVALID_RULES);

      expect(await sut.reload()).toBe(false);
      expect(sut.current()).toBe(loaded);
      const logged = errorLog.mock.calls.map(([message]) => String(message)).join('\n');
      expect(logged).toContain('keeping the 1 rules loaded before');
      expect(logged).toContain('id: duplicate id');
      expect(logged).toContain('when[0].jq: jq: compile error');
    });

    it('should keep using the rules in use while a large file compiles, the event loop turning meanwhile', async () => {
      const path = writeRulesFile(rulesText('v1'));
      const sut = new RulesService(buildAppConfig({ RULES_FILE: path, SLACK_WEBHOOK_URL: 'http://127.0.0.1:9/hook', LOG_LEVEL: 'silent' }));
      sut.onModuleInit();
      const inUse = sut.current();
      const busy: boolean[] = [];
      sut.whileReloading((state) => busy.push(state));
      // 300 rules of a jq condition each: three jq programs of conditions, compiled one per turn.
      replaceFile(path, `rules:\n${Array.from({ length: 300 }, (_, i) => `  - id: r${i}\n    when:\n      - jq: '.diff.after.properties.cpuUtil > ${i}'\n    do:\n      - slack: { text: "r${i}" }\n`).join('')}`);
      const seen: unknown[] = [];
      let done = false;
      const turn = () => {
        if (done) return;
        seen.push(sut.current());
        setImmediate(turn);
      };
      setImmediate(turn);
      try {
        expect(await sut.reload()).toBe(true);
      } finally {
        done = true;
        sut.onModuleDestroy();
      }
      expect(seen.length).toBeGreaterThanOrEqual(2);
      expect(seen.every((ruleSet) => ruleSet === inUse)).toBe(true);
      expect(sut.current()?.rules).toHaveLength(300);
      expect(busy).toEqual([true, false]);
    });

    it('should run reloads one after another, the last file winning', async () => {
      const path = writeRulesFile(rulesText('v1'));
      const sut = new RulesService(buildAppConfig({ RULES_FILE: path, SLACK_WEBHOOK_URL: 'http://127.0.0.1:9/hook', LOG_LEVEL: 'silent' }));
      replaceFile(path, rulesText('v2'));
      const first = sut.reload();
      const second = sut.reload();
      expect(await Promise.all([first, second])).toEqual([true, false]);
      expect(JSON.stringify(sut.current()?.rules)).toContain('"v2"');
    });

    it('should return true and swap the rules when the new file is valid, and false when the content is unchanged', async () => {
      const path = writeRulesFile(rulesText('v1'));
      const sut = new RulesService(buildAppConfig({ RULES_FILE: path, SLACK_WEBHOOK_URL: 'http://127.0.0.1:9/hook', LOG_LEVEL: 'silent' }));
      await sut.reload();
      const loaded = sut.current();

      replaceFile(path, rulesText('v2'));

      expect(await sut.reload()).toBe(true);
      expect(sut.current()).not.toBe(loaded);
      expect(JSON.stringify(sut.current()?.rules)).toContain('"v2"');
      replaceFile(path, rulesText('v2'));
      expect(await sut.reload()).toBe(false);
    });
  });
});

describe('rules file hot reload (real app, file polled every second)', () => {
  jest.setTimeout(30_000);
  const slack = new MockTarget();
  let t: TestApp;
  let rulesFile: string;

  beforeAll(async () => {
    await slack.start();
    rulesFile = writeRulesFile(rulesText('v1'));
    t = await startTestApp({
      RULES_FILE: rulesFile,
      SLACK_WEBHOOK_URL: slack.url('/services/T000/B000/hot-reload'),
      WEBHOOK_SIGNATURE: 'off',
      SLACK_MAX_PER_SECOND: '50',
    });
  });
  afterAll(async () => {
    await t.close();
    await slack.stop();
  });

  const ready = async () => {
    const response = await t.app.inject({ method: 'GET', url: '/health/ready' });
    return { statusCode: response.statusCode, rules: response.json().info?.rules as { status: string; count: number; loadedAt: string; fileRefusedAt?: string } };
  };
  /** Posts a fresh matching event and resolves with the Slack text it produced. */
  const slackTextFor = async (body: unknown) => {
    const seen = slack.requests.length;
    const response = await t.app.inject({ method: 'POST', url: '/webhooks/port', payload: body as object });
    expect(response.statusCode).toBe(202);
    const request = await waitFor(async () => slack.requests[seen], 10_000, 'a Slack message');
    return (request.body as { text: string }).text;
  };

  it('should send with the new rules once a valid file is renamed over the old one', async () => {
    expect(await slackTextFor(deploymentDegraded())).toBe('v1');
    const before = await ready();

    replaceFile(rulesFile, rulesText('v2'));
    await waitFor(async () => (await ready()).rules.loadedAt !== before.rules.loadedAt, 5_000, 'rules loadedAt to change');

    expect(await slackTextFor(deploymentDegraded())).toBe('v2');
  });

  it('should not apply a file written in place in two parts before its second part', async () => {
    const rules = t.app.get(RulesService);
    const reload = jest.spyOn(rules, 'reload');
    try {
      // The first part alone is a valid file whose rule matches every deploymentConfig change.
      writeFileSync(rulesFile, rulesText('v-half').replace(/    when:\n      - changed: properties.healthStatus\n        to: Degraded\n/, ''));
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      appendFileSync(rulesFile, `  - id: second-part\n    blueprint: deploymentConfig\n    do:\n      - slack: { text: "second" }\n`);
      await waitFor(async () => reload.mock.calls.length > 0, 6_000, 'the reload');
      await new Promise((resolve) => setTimeout(resolve, 2_500));

      expect(reload).toHaveBeenCalledTimes(1);
      expect(rules.current()!.rules.map((rule) => rule.id)).toEqual(['deployment-degraded', 'second-part']);
    } finally {
      reload.mockRestore();
      replaceFile(rulesFile, rulesText('v2'));
      await waitFor(async () => rules.current()!.rules.length === 1, 6_000, 'v2 back');
    }
  });

  it('should refuse an invalid file whole, keep the old rules and stay ready', async () => {
    const rules = t.app.get(RulesService);
    const reload = jest.spyOn(rules, 'reload');
    const errorLog = jest.spyOn(Logger.prototype, 'error');
    const before = await ready();
    try {
      replaceFile(rulesFile, INVALID_RULES);
      // Polled every second, read once unchanged for 2 s.
      await new Promise((resolve) => setTimeout(resolve, 4_500));

      // The poll did see the new file and refused it (not merely missed it).
      expect(reload).toHaveBeenCalled();
      expect(await Promise.all(reload.mock.results.map((result) => result.value))).toEqual(reload.mock.results.map(() => false));
      expect(errorLog).toHaveBeenCalledWith(expect.stringMatching(/refused, keeping the 1 rules loaded before[\s\S]*deployment-degraded/));
      // Still ready, and saying the file on disk is not the one running; no part of the file in the answer.
      const after = await ready();
      expect(after).toEqual({
        statusCode: 200,
        rules: { status: 'up', count: 1, loadedAt: before.rules.loadedAt, fileRefusedAt: expect.any(String), message: expect.stringContaining('the rules loaded before it are in use') },
      });
      expect(Date.parse(after.rules.fileRefusedAt!)).toBeGreaterThan(Date.parse(before.rules.loadedAt));
      expect(JSON.stringify(after)).not.toContain('|||');
      expect(await refusedGauge()).toBe(1);
      expect(await slackTextFor(deploymentDegraded())).toBe('v2');

      // Fixed: the refusal is gone from both.
      replaceFile(rulesFile, rulesText('v3'));
      await waitFor(async () => (await ready()).rules.loadedAt !== before.rules.loadedAt, 6_000, 'v3 loaded');
      expect((await ready()).rules).toEqual({ status: 'up', count: 1, loadedAt: expect.any(String) });
      expect(await refusedGauge()).toBe(0);
    } finally {
      reload.mockRestore();
      errorLog.mockRestore();
    }
  });

  const refusedGauge = async () => {
    const text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    return Number(/^reactor_rules_file_refused (\S+)$/m.exec(text)?.[1]);
  };
});
