/**
 * Long synchronous work written as a generator that yields between its slices (a jq compilation
 * each). The same code runs at once (`runSteps`: the CLI, tests) or lets the event loop turn between
 * slices (`runStepsYielding`: the service's reload, so webhooks are answered while it compiles).
 */
export type Steps<T> = Generator<void, T, void>;

export function runSteps<T>(steps: Steps<T>): T {
  let step = steps.next();
  while (!step.done) step = steps.next();
  return step.value;
}

/** Runs the next slice after the event loop's pending I/O and timers (setImmediate), each time. */
export async function runStepsYielding<T>(steps: Steps<T>): Promise<T> {
  let step = steps.next();
  while (!step.done) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    step = steps.next();
  }
  return step.value;
}
