/** `promise`, or a rejection with `failure` (a message, or the error to throw) once `ms` have passed without it settling. */
export function withTimeout<T>(promise: Promise<T>, ms: number, failure: string | (() => Error) = `no answer in ${ms} ms`): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const error = () => (typeof failure === 'string' ? new Error(failure) : failure());
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(error()), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
