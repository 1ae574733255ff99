import { readSampleJson } from '../../../test/support/port-samples';
import type { Change, ChangeEvent, PortChangeBody } from '../../changes/change-event';
import { buildDefaultSlackMessage, portAppUrlFrom } from './slack-message.builder';

type Block = { type: string; text?: { text: string }; elements?: { text?: string; url?: string }[] };

function eventFrom(body: PortChangeBody): ChangeEvent {
  return {
    id: 'evt-1',
    source: 'kafka',
    receivedAt: '2026-01-01T00:00:00.000Z',
    action: body.action,
    resourceType: body.resourceType,
    blueprint: body.context.blueprint ?? null,
    entity: body.context.entity ?? null,
    body,
  };
}

const vmUpdate = (): PortChangeBody => readSampleJson('kafka-changelog-entity-update-vm-free_storage.json') as PortChangeBody;
const blockText = (blocks: unknown[]): string => JSON.stringify(blocks);

describe('buildDefaultSlackMessage', () => {
  const portAppUrl = 'https://app.port.io';

  it('should describe the entity, the change, the author and link to Port for the vm free_storage update', () => {
    const changes: Change[] = [{ path: 'properties.free_storage', before: 6, after: 0.5 }];

    const { text, blocks } = buildDefaultSlackMessage({ event: eventFrom(vmUpdate()), changes, portAppUrl });

    const [header, context, section, byline, actions] = blocks as Block[];
    expect(header).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Storage Example VM updated', emoji: true } });
    expect(context.elements?.[0].text).toBe('Blueprint *vm* · entity `storage-example`');
    expect(section.text?.text).toBe('• properties.free_storage: `6` → `0.5`');
    expect(byline.elements?.[0].text).toBe('Changed by h2Mf13aRSCYQCUPIcqufoP4XRLwAt8Od@clients via API');
    expect(actions.elements?.[0].url).toBe('https://app.port.io/vmEntity?identifier=storage-example');
    expect(text).toBe('Storage Example VM (vm) updated: properties.free_storage: 6 → 0.5');
  });

  it('should prefer the user email and escape mrkdwn specials in user data', () => {
    const body = vmUpdate();
    body.trigger = { by: { userId: 'u1', user: { email: 'a&b@example.com' } }, origin: 'UI' };
    const changes: Change[] = [{ path: 'properties.note', before: '<b>', after: 'x & y' }];

    const { text, blocks } = buildDefaultSlackMessage({ event: eventFrom(body), changes, portAppUrl });

    expect(blockText(blocks)).toContain('Changed by a&amp;b@example.com via UI');
    expect(blockText(blocks)).toContain('`&lt;b&gt;` → `x &amp; y`');
    expect(text).not.toMatch(/[<>]|& /);
  });

  it('should list at most 15 changes and truncate long values', () => {
    const changes: Change[] = Array.from({ length: 18 }, (_, i) => ({ path: `properties.p${i}`, before: i, after: 'v'.repeat(200) }));

    const { blocks } = buildDefaultSlackMessage({ event: eventFrom(vmUpdate()), changes, portAppUrl });

    const lines = ((blocks as Block[])[2].text?.text ?? '').split('\n');
    expect(lines).toHaveLength(16);
    expect(lines[15]).toBe('…and 3 more');
    expect(lines[0].length).toBeLessThan(120);
  });

  it('should use the before state and show absent values when the entity was deleted', () => {
    const body = vmUpdate();
    body.action = 'DELETE';
    body.diff = { before: body.diff?.before, after: null };
    const changes: Change[] = [{ path: 'properties.region', before: 'eu-west-1', after: undefined }];

    const { blocks } = buildDefaultSlackMessage({ event: eventFrom(body), changes, portAppUrl });

    expect((blocks as Block[])[0].text?.text).toBe('Storage Example VM deleted');
    expect((blocks as Block[])[2].text?.text).toBe('• properties.region: `eu-west-1` → ∅');
  });

  it('should fall back to the identifier and say nothing changed for a timer event without diff', () => {
    const body = readSampleJson('changelog-timer-expired-entity.json') as PortChangeBody;

    const { blocks } = buildDefaultSlackMessage({ event: eventFrom(body), changes: [], portAppUrl });

    expect((blocks as Block[])[0].text?.text).toBe(`${String(body.context.entity)} timer expired`);
    expect((blocks as Block[])[2].text?.text).toBe('No property changed.');
    expect((blocks as Block[])[3].elements?.[0].text).toBe('Changed by Port via API');
  });

  it('should url-encode the entity identifier in the link', () => {
    const body = vmUpdate();
    body.context.entity = 'a b/c';

    const { blocks } = buildDefaultSlackMessage({ event: eventFrom(body), changes: [], portAppUrl: 'https://app.port.io/' });

    expect(blockText(blocks)).toContain('https://app.port.io/vmEntity?identifier=a%20b%2Fc');
  });
});

describe('portAppUrlFrom', () => {
  it.each([
    ['https://api.port.io/v1', 'https://app.port.io'],
    ['https://api.us.port.io/v1', 'https://app.us.port.io'],
    ['https://api.getport.io/v1', 'https://app.getport.io'],
    ['https://api.port.example.com:8443/v1/', 'https://app.port.example.com:8443'],
    ['http://127.0.0.1:5000/v1', 'http://127.0.0.1:5000'],
  ])('should map %s to %s', (api, app) => {
    expect(portAppUrlFrom(api)).toBe(app);
  });
});
