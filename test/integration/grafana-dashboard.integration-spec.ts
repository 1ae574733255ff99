import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestApp, TestApp } from '../support/test-app';

interface Panel { id: number; type: string; gridPos: object; targets?: { expr: string }[] }
const dashboard = JSON.parse(readFileSync(join(__dirname, '..', '..', 'deploy', 'grafana-dashboard.json'), 'utf8')) as { panels: Panel[] };

describe('deploy/grafana-dashboard.json', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('should give every panel a unique id and a position', () => {
    const ids = dashboard.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of dashboard.panels) expect(panel.gridPos).toEqual(expect.objectContaining({ h: expect.any(Number), w: expect.any(Number) }));
  });

  it('should only query metrics the service exports', async () => {
    const text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    const families = new Set([...text.matchAll(/^# TYPE (\S+) (\w+)$/gm)].flatMap(([, name, type]) =>
      type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name]));
    const used = dashboard.panels.flatMap((panel) => panel.targets ?? []).flatMap(({ expr }) => expr.match(/\b(reactor|process|nodejs)_[a-z0-9_]+/g) ?? []);

    expect(used.length).toBeGreaterThan(10);
    expect(used.filter((name) => !families.has(name))).toEqual([]);
  });
});
