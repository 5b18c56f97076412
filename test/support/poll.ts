// The one poll-until-true of the tests (and the benchmark): ask, wait a little, ask again, up to a
// bound. A bound, not a measurement: tests assert what they find, never how soon.
import { setTimeout as sleep } from 'node:timers/promises';

export interface PollOptions<T> {
  /** Whether a value is the awaited one; default: any value but undefined. */
  readonly until?: (value: T) => boolean;
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
}

/**
 * Asks `probe` every `intervalMs` until it returns a value `until` accepts (undefined is never
 * accepted), and returns that value; throws when `timeoutMs` passes first, naming `what` (a
 * function of the last value, to say how far it got).
 */
export async function pollUntil<T>(
  what: string | ((last: T | undefined) => string),
  probe: () => Promise<T | undefined>,
  { until = () => true, timeoutMs = 30_000, intervalMs = 100 }: PollOptions<T> = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && until(value)) return value;
    if (Date.now() > deadline) {
      const described = typeof what === 'string' ? what : what(value);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${described}`);
    }
    await sleep(intervalMs);
  }
}
