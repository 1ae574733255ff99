/** One field of a Redis `INFO` answer (`name:value` lines), or undefined when it is not there. */
export function redisInfoField(info: string, name: string): string | undefined {
  return new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
}
