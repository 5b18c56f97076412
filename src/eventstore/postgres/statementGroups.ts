// Requests that arrive while earlier statements are in flight wait, then go together as one
// statement: one round trip and one plan for many streams. At most `slots` statements are in flight
// at once and `maxGroup` requests go in one. A request alone when a slot is free goes at once.

export interface GroupOptions {
  /** Statements in flight at once (default 1); requests arriving meanwhile go as one group. */
  readonly slots?: number;
  /** Requests per group, at most. */
  readonly maxGroup?: number;
}

/**
 * Queues requests for `send`, which receives each group once and must settle every request in it
 * (it never rejects). With `keyOf`, a group holds one request per key: a second one for the same
 * key waits for the next group, in arrival order.
 */
export function statementGroups<R>(
  send: (group: R[]) => Promise<unknown>,
  { slots = 1, maxGroup = 64 }: GroupOptions = {},
  keyOf?: (request: R) => string,
): (request: R) => void {
  const waiting: R[] = [];
  let inFlight = 0;

  function takeGroup(): R[] {
    if (!keyOf) return waiting.splice(0, maxGroup);
    const group: R[] = [];
    const keys = new Set<string>();
    for (let i = 0; i < waiting.length && group.length < maxGroup; ) {
      const request = waiting[i] as R;
      const key = keyOf(request);
      if (keys.has(key)) {
        i++;
        continue;
      }
      keys.add(key);
      group.push(request);
      waiting.splice(i, 1);
    }
    return group;
  }

  function flush() {
    while (inFlight < slots && waiting.length > 0) {
      const group = takeGroup();
      inFlight++;
      void send(group).finally(() => {
        inFlight--;
        flush();
      });
    }
  }

  return (request) => {
    waiting.push(request);
    flush();
  };
}
