import { producerRedisOptions, redisOptionsFromUrl, workerRedisOptions } from './redis-options';

describe('redisOptionsFromUrl', () => {
  it.each([
    ['redis://127.0.0.1:6379', { host: '127.0.0.1', port: 6379, username: undefined, password: undefined, db: undefined, tls: undefined }],
    ['redis://redis', { host: 'redis', port: 6379 }],
    ['redis://:s3cr%40t@cache.internal:6380/2', { host: 'cache.internal', port: 6380, password: 's3cr@t', db: 2, tls: undefined }],
    ['redis://reactor:pw@cache:6379', { username: 'reactor', password: 'pw' }],
    ['rediss://:pw@redis.example.com:6380', { host: 'redis.example.com', port: 6380, tls: { servername: 'redis.example.com' } }],
    ['redis://[::1]:6379', { host: '::1', port: 6379 }],
  ])('should read %s', (url, expected) => {
    expect(redisOptionsFromUrl(url)).toMatchObject(expected);
  });
});

describe('producerRedisOptions and workerRedisOptions', () => {
  it('should fail fast on the enqueue side and wait on the worker side', () => {
    expect(producerRedisOptions('redis://h:1')).toMatchObject({ enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    expect(workerRedisOptions('redis://h:1')).toMatchObject({ enableOfflineQueue: true, maxRetriesPerRequest: null });
  });
});
