import { Logger } from '@nestjs/common';
import { PermanentActionError, RateLimitedActionError, TransientActionError } from '../actions/action-errors';
import type { PortBlueprint } from '../actions/port/port-api.client';
import { ChangelogRegistrationService } from './changelog-registration.service';

const OURS = { type: 'WEBHOOK', url: 'https://reactor.example.com/webhooks/port' };

describe(ChangelogRegistrationService.name, () => {
  let blueprints: Record<string, PortBlueprint>;
  let port: { getBlueprint: jest.Mock; patchBlueprint: jest.Mock };
  let sut: ChangelogRegistrationService;

  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation();
    jest.spyOn(Logger.prototype, 'error').mockImplementation();
    jest.spyOn(Logger.prototype, 'warn').mockImplementation();
    blueprints = {
      service: { identifier: 'service' },
      vm: { identifier: 'vm', changelogDestination: { type: 'KAFKA' } },
      done: { identifier: 'done', changelogDestination: { ...OURS } },
    };
    port = {
      getBlueprint: jest.fn(async (id: string) => {
        if (!blueprints[id]) throw new PermanentActionError(`GET ${id} -> 404 not_found`, 404);
        return structuredClone(blueprints[id]);
      }),
      patchBlueprint: jest.fn(async (id: string, patch: object) => void Object.assign(blueprints[id], patch)),
    };
    sut = new ChangelogRegistrationService(port);
  });

  afterEach(() => jest.restoreAllMocks());

  describe('register', () => {
    it('should patch each blueprint not pointing at the webhook route, with exactly the destination', async () => {
      const result = await sut.register(['service', 'vm', 'done'], 'https://reactor.example.com/');

      expect(port.patchBlueprint.mock.calls).toEqual([
        ['service', { changelogDestination: OURS }],
        ['vm', { changelogDestination: OURS }],
      ]);
      expect(result).toEqual({
        changed: [
          { blueprint: 'service', previous: null, destination: OURS },
          { blueprint: 'vm', previous: { type: 'KAFKA' }, destination: OURS },
        ],
        unchanged: ['done'],
        failed: [],
      });
      expect(Logger.prototype.warn).toHaveBeenCalledWith(
        'blueprint vm: changelogDestination set to WEBHOOK https://reactor.example.com/webhooks/port (was KAFKA)',
      );
    });

    it('should change nothing the second time', async () => {
      await sut.register(['service', 'vm'], 'https://reactor.example.com');
      port.patchBlueprint.mockClear();

      await expect(sut.register(['service', 'vm'], 'https://reactor.example.com')).resolves.toEqual({ changed: [], unchanged: ['service', 'vm'], failed: [] });
      expect(port.patchBlueprint).not.toHaveBeenCalled();
    });

    it('should replace a webhook pointing elsewhere and log its origin and path only', async () => {
      blueprints.service.changelogDestination = { type: 'WEBHOOK', url: 'https://user:pw@smee.io/channel?token=s3cret' };

      await sut.register(['service'], 'https://reactor.example.com');

      const [message] = (Logger.prototype.warn as jest.Mock).mock.calls[0] as [string];
      expect(message).toBe('blueprint service: changelogDestination set to WEBHOOK https://reactor.example.com/webhooks/port (was WEBHOOK https://smee.io/channel)');
    });

    it('should leave a blueprint whose changelog goes to Kafka when this service consumes Kafka', async () => {
      sut = new ChangelogRegistrationService(port, { consumesKafka: true });

      await expect(sut.register(['service', 'vm'], 'https://reactor.example.com')).resolves.toEqual({
        changed: [{ blueprint: 'service', previous: null, destination: OURS }],
        unchanged: ['vm'],
        failed: [],
      });
      expect(Logger.prototype.log).toHaveBeenCalledWith('blueprint vm: changelogDestination left as KAFKA, which this service consumes');
    });

    it.each([
      ['https://reactor.example.com/', 'https://reactor.example.com/webhooks/port'],
      ['https://reactor.example.com/webhooks/port', 'https://reactor.example.com/webhooks/port'],
      ['https://relay.example.com/ch?key=abc', 'https://relay.example.com/ch/webhooks/port?key=abc'],
      ['https://relay.example.com/base/#frag', 'https://relay.example.com/base/webhooks/port'],
    ])('should register PUBLIC_URL %s as %s', async (publicUrl, url) => {
      await sut.register(['service'], publicUrl);

      expect(port.patchBlueprint).toHaveBeenCalledWith('service', { changelogDestination: { type: 'WEBHOOK', url } });
    });

    it('should log a blueprint it cannot read and go on with the others', async () => {
      const result = await sut.register(['missing', 'service'], 'https://reactor.example.com');

      expect(result).toMatchObject({ changed: [{ blueprint: 'service' }], failed: ['missing'] });
      expect(Logger.prototype.error).toHaveBeenCalledWith(expect.stringContaining('blueprint missing: changelogDestination not registered'));
    });

    it('should try a PATCH answered 5xx again, and give up on the blueprint after three tries', async () => {
      sut = new ChangelogRegistrationService(port, { consumesKafka: false, retryPauseMs: 1 });
      port.patchBlueprint.mockRejectedValueOnce(new TransientActionError('PATCH -> 502', 502));

      await expect(sut.register(['service'], 'https://reactor.example.com')).resolves.toMatchObject({ changed: [{ blueprint: 'service' }] });
      expect(port.patchBlueprint).toHaveBeenCalledTimes(2);

      port.patchBlueprint.mockClear();
      port.patchBlueprint.mockRejectedValue(new TransientActionError('PATCH -> 503', 503));
      blueprints.vm.changelogDestination = { type: 'KAFKA' };
      await expect(sut.register(['vm'], 'https://reactor.example.com')).resolves.toMatchObject({ failed: ['vm'] });
      expect(port.patchBlueprint).toHaveBeenCalledTimes(3);
    });

    it('should not try a refusal (4xx) again', async () => {
      port.patchBlueprint.mockRejectedValueOnce(new PermanentActionError('PATCH -> 403', 403));

      await expect(sut.register(['service'], 'https://reactor.example.com')).resolves.toMatchObject({ failed: ['service'] });
      expect(port.patchBlueprint).toHaveBeenCalledTimes(1);
    });

    it('should wait out a 429 and try again', async () => {
      port.patchBlueprint.mockRejectedValueOnce(new RateLimitedActionError('429', 10));

      await expect(sut.register(['service'], 'https://reactor.example.com')).resolves.toMatchObject({ changed: [{ blueprint: 'service' }] });
      expect(port.patchBlueprint).toHaveBeenCalledTimes(2);
    });
  });
});
