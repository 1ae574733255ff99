import { SourcesService } from '../../src/sources/sources.service';
import { FakeSmeeServer } from '../support/fake-smee-server';
import { startTestApp, TestApp, waitFor } from '../support/test-app';

describe('GET /health/ready with a smee source', () => {
  const smee = new FakeSmeeServer();
  let t: TestApp;

  beforeAll(async () => {
    await smee.start();
    smee.refuse('gone', 403);
    t = await startTestApp({ ROLE: 'api', SMEE_URL: smee.channelUrl('dev-channel') });
    await t.app.get(SourcesService).startAll();
  });
  afterAll(async () => {
    await t.app.get(SourcesService).stopAll();
    await t.close();
    await smee.stop();
  });

  const ready = () => t.app.inject({ method: 'GET', url: '/health/ready' });

  it('should report the connected channel and stay ready', async () => {
    const response = await waitFor(async () => {
      const r = await ready();
      return r.json().info?.source_smee?.state === 'connected' ? r : undefined;
    }, 5_000, 'the smee source to connect');

    expect(response.statusCode).toBe(200);
    expect(response.json().info.source_smee.detail).toContain('/dev-channel');
  });

  it('should not report sources that are not configured', async () => {
    const response = await ready();
    expect(Object.keys(response.json().info)).toEqual(['redis', 'rules', 'source_smee']);
  });
});
