import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import { LuaScript } from '../../src/common/lua-script';
import { REDIS_URL } from '../support/test-app';

describe('LuaScript against the real Redis', () => {
  const redis = new Redis(REDIS_URL);
  afterAll(() => redis.quit());

  it('should load a script Redis does not know on first use, then run it by SHA', async () => {
    // A comment no other run has: Redis cannot have this script cached yet.
    const source = `-- ${randomBytes(8).toString('hex')}\nreturn {KEYS[1], ARGV[1], ARGV[2]}`;
    const script = new LuaScript(source);
    const evals = jest.spyOn(redis, 'eval');

    await expect(script.run(redis, ['k'], ['a', 7])).resolves.toEqual(['k', 'a', '7']);
    await expect(script.run(redis, ['k2'], ['b', 8])).resolves.toEqual(['k2', 'b', '8']);

    expect(evals).toHaveBeenCalledTimes(1);
    evals.mockRestore();
  });

  it('should pass a script error through, not retry it', async () => {
    const script = new LuaScript(`-- ${randomBytes(8).toString('hex')}\nreturn redis.call('INCR', KEYS[1])`);
    const key = `lua-script-test:${randomBytes(4).toString('hex')}`;
    await redis.set(key, 'not a number');

    await expect(script.run(redis, [key], [])).rejects.toThrow(/not an integer/);
    await redis.del(key);
  });
});
