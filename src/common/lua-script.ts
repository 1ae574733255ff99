import type Redis from 'ioredis';
import { createHash } from 'node:crypto';

/**
 * A Lua script run by its SHA (EVALSHA: a few bytes a call instead of the whole source), sent in
 * full only when Redis does not know it yet (NOSCRIPT: first use, or after a restart or flush).
 * Not ioredis' defineCommand, which does the same by adding a method to the shared connection:
 * ioredis copies every such method into each pipeline it builds, a cost measured on the hot path.
 */
export class LuaScript {
  private readonly sha: string;

  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}
