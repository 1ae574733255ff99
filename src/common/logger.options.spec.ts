import { Writable } from 'node:stream';
import pino, { type LoggerOptions } from 'pino';
import { AppConfig } from '../config/app-config';
import { loggerOptions } from './logger.options';

describe('loggerOptions', () => {
  it('should write no secret of a logged object, at any depth', () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => { lines.push(chunk.toString()); done(); } });
    const [options] = loggerOptions({ logLevel: 'trace' } as AppConfig).pinoHttp as [LoggerOptions, unknown];
    const logger = pino(options, sink);

    logger.info({ eventId: 'evt_1', action: { type: 'slack', webhookUrl: 'https://hooks.slack.com/services/T/B/slacksecret' }, headers: { authorization: 'Bearer tokensecret' } }, 'dispatching');

    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('slacksecret');
    expect(lines[0]).not.toContain('tokensecret');
    expect(JSON.parse(lines[0])).toMatchObject({ eventId: 'evt_1', action: { type: 'slack', webhookUrl: '[redacted]' }, headers: { authorization: '[redacted]' } });
  });
});
