import { refusesWrites } from './redis.health';

const info = (used: number, max: number, policy: string) => `# Memory\r\nused_memory:${used}\r\nused_memory_human:1M\r\nmaxmemory:${max}\r\nmaxmemory_human:0B\r\nmaxmemory_policy:${policy}\r\n`;

describe(refusesWrites.name, () => {
  it.each([
    ['maxmemory reached with noeviction', info(1_100_000, 1_048_576, 'noeviction'), true],
    ['under maxmemory', info(900_000, 1_048_576, 'noeviction'), false],
    ['no maxmemory (0: unlimited)', info(5_000_000_000, 0, 'noeviction'), false],
    ['maxmemory reached with an evicting policy (Redis frees memory instead)', info(1_100_000, 1_048_576, 'allkeys-lru'), false],
    ['an answer without the fields (INFO not allowed)', '', false],
  ])('should tell whether Redis refuses writes for memory: %s', (_name, text, expected) => {
    expect(refusesWrites(text)).toBe(expected);
  });
});
