import { isRedisUnavailable } from './redis-unavailable';

describe('isRedisUnavailable', () => {
  const named = (name: string, message: string) => Object.assign(new Error(message), { name });

  it.each([
    ['no connection, offline queue off', new Error("Stream isn't writeable and enableOfflineQueue options is false"), true],
    ['a closed connection', new Error('Connection is closed.'), true],
    ['a command timeout', new Error('Command timed out'), true],
    ['refused', new Error('connect ECONNREFUSED 127.0.0.1:6379'), true],
    ['retries used up', named('MaxRetriesPerRequestError', 'Reached the max retries per request limit'), true],
    ['Redis loading its AOF after a restart', named('ReplyError', 'LOADING Redis is loading the dataset in memory'), true],
    ['Redis out of memory', named('ReplyError', "OOM command not allowed when used memory > 'maxmemory'."), true],
    ['a wrong command', named('ReplyError', 'ERR wrong number of arguments for \'hset\' command'), false],
    ['a fault of ours', new TypeError("Cannot read properties of undefined (reading 'ruleId')"), false],
    ['a message that only mentions LOADING later', new Error('rules LOADING failed'), false],
    ['not an error', 'Connection is closed.', false],
  ])('should tell Redis is unavailable from %s: %s', (_name, error, expected) => {
    expect(isRedisUnavailable(error)).toBe(expected);
  });
});
