import { readSampleJson } from '../../../test/support/port-samples';
import { startFakePortApi, type FakePortApi } from '../../../test/support/fake-port-api';
import type { ChangeEvent, PortChangeBody } from '../../changes/change-event';
import { PermanentActionError } from '../action-errors';
import type { DispatchContext } from '../action-dispatcher';
import { isOwnWrite } from './own-write';
import { PortApiClient } from './port-api.client';
import { PortDispatcher } from './port.dispatcher';

const context: DispatchContext = { eventId: 'evt-1', ruleId: 'lock', actionKey: 'evt-1.lock.0' };

describe(PortDispatcher.name, () => {
  let port: FakePortApi;
  let client: PortApiClient;
  let sut: PortDispatcher;

  beforeEach(async () => {
    port = await startFakePortApi();
    client = new PortApiClient({ baseUrl: port.baseUrl, clientId: 'cid', clientSecret: 'csecret' });
    sut = new PortDispatcher(client, { env: { OWNER: 'team-a' } });
  });

  afterEach(async () => {
    await client.onApplicationShutdown();
    await port.server.stop();
  });

  describe('dispatch', () => {
    it('should patch only the entity fields with secrets resolved', async () => {
      const result = await sut.dispatch(
        { type: 'port', blueprint: 'vm', entity: 'storage-example', properties: { locked: true, owner: '${OWNER}' }, relations: { using: 'db' } },
        context,
      );

      const [request] = port.apiRequests();
      expect(request.path).toBe('/v1/blueprints/vm/entities/storage-example');
      expect(request.body).toEqual({ properties: { locked: true, owner: 'team-a' }, relations: { using: 'db' } });
      expect(result).toEqual({ statusCode: 200, summary: 'PATCH port vm/storage-example -> 200' });
    });

    it('should throw a permanent error when the action names no entity', async () => {
      await expect(sut.dispatch({ type: 'port', blueprint: 'vm', properties: { locked: true } }, context)).rejects.toBeInstanceOf(
        PermanentActionError,
      );
      expect(port.server.requests).toHaveLength(0);
    });

    it('should throw a permanent error when the action changes nothing', async () => {
      await expect(sut.dispatch({ type: 'port', blueprint: 'vm', entity: 'x' }, context)).rejects.toBeInstanceOf(PermanentActionError);
    });
  });
});

describe('isOwnWrite', () => {
  const vmUpdate = readSampleJson('kafka-changelog-entity-update-vm-free_storage.json') as PortChangeBody;
  const event = (body: PortChangeBody): ChangeEvent => ({
    id: 'e', source: 'kafka', receivedAt: '', action: body.action, resourceType: body.resourceType, blueprint: 'vm', entity: 'storage-example', body,
  });

  it('should be true when Port attributes the change to our machine token', () => {
    expect(isOwnWrite(event(vmUpdate), 'h2Mf13aRSCYQCUPIcqufoP4XRLwAt8Od')).toBe(true);
  });

  it('should be true when the user id is the bare client id', () => {
    expect(isOwnWrite(event({ ...vmUpdate, trigger: { by: { userId: 'cid' } } }), 'cid')).toBe(true);
  });

  it('should be false for another client or when no client id is configured', () => {
    expect(isOwnWrite(event(vmUpdate), 'someone-else')).toBe(false);
    expect(isOwnWrite(event(vmUpdate), undefined)).toBe(false);
    expect(isOwnWrite(event({ ...vmUpdate, trigger: undefined }), 'cid')).toBe(false);
  });
});
