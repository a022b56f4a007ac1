// At most n tasks at a time, started in the order they were submitted (so layer downloads begin
// bottom layer first, the order in which they can be unpacked).

export type Limiter = <T>(task: () => Promise<T>, onQueued?: () => void) => Promise<T>;

export function limiter(n: number): Limiter {
  let running = 0;
  const queue: (() => void)[] = [];
  // A finishing task hands its slot straight to the next queued one, so that a task submitted
  // meanwhile cannot slip in and make n+1.
  const release = (): void => {
    const next = queue.shift();
    if (next) next();
    else running--;
  };
  return async <T>(task: () => Promise<T>, onQueued?: () => void): Promise<T> => {
    if (running >= n) {
      onQueued?.();
      await new Promise<void>((resolve) => queue.push(resolve));
    } else {
      running++;
    }
    try {
      return await task();
    } finally {
      release();
    }
  };
}
