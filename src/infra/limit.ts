/** A concurrency bound: at most `max` tasks run at once, the others wait in arrival order. */
export function createLimit(max: number) {
  let running = 0;
  const waiting: (() => void)[] = [];
  const limit = async <T>(task: () => Promise<T>): Promise<T> => {
    if (running >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await task();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
  return Object.assign(limit, {
    get active() {
      return running;
    },
    get queued() {
      return waiting.length;
    },
  });
}
