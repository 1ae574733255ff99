import { Writable } from 'node:stream';
import pino, { type Logger, type LoggerOptions } from 'pino';
import { AppConfig } from '../config/app-config';
import { loggerOptions } from './logger.options';

/** The lines a logger built from loggerOptions writes while `log` runs. */
function linesOf(log: (logger: Logger) => void): string[] {
  const lines: string[] = [];
  const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => { lines.push(chunk.toString()); done(); } });
  const [options] = loggerOptions({ logLevel: 'trace' } as AppConfig).pinoHttp as [LoggerOptions, unknown];
  log(pino(options, sink));
  return lines;
}

describe('loggerOptions', () => {
  it('should write no secret of a logged object, at any depth', () => {
    const lines = linesOf((logger) => logger.info({ eventId: 'evt_1', action: { type: 'slack', webhookUrl: 'https://hooks.slack.com/services/T/B/slacksecret' }, headers: { authorization: 'Bearer tokensecret' } }, 'dispatching'));

    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('slacksecret');
    expect(lines[0]).not.toContain('tokensecret');
    expect(JSON.parse(lines[0])).toMatchObject({ eventId: 'evt_1', action: { type: 'slack', webhookUrl: '[redacted]' }, headers: { authorization: '[redacted]' } });
  });

  it('should write no secret carried on an error, and still serialise it as one', () => {
    const lines = linesOf((logger) => logger.warn({ err: Object.assign(new Error('token refused'), { accessToken: 'tokensecret' }) }, 'port call failed'));

    expect(lines[0]).not.toContain('tokensecret');
    expect(JSON.parse(lines[0]).err).toMatchObject({ type: 'Error', message: 'token refused', accessToken: '[redacted]' });
  });
});
