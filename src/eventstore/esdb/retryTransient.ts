import { setTimeout as sleep } from 'node:timers/promises';
import {
  CancelledError,
  DeadlineExceededError,
  NotLeaderError,
  TimeoutError,
  UnavailableError,
} from '@eventstore/db-client';

export interface ReconnectOptions {
  /** Consecutive failed attempts before the error is passed on. */
  readonly maxAttempts?: number;
  /** First pause; doubles per attempt up to `maxDelayMs`. */
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
}

/**
 * Errors of the connection rather than of the request: the server went away, restarted, lost
 * leadership or cut the call. The client has already dropped its channel; the next call reconnects.
 */
export function isTransient(error: unknown): boolean {
  return (
    error instanceof UnavailableError ||
    error instanceof CancelledError ||
    error instanceof DeadlineExceededError ||
    error instanceof TimeoutError ||
    error instanceof NotLeaderError
  );
}

/** Pause before attempt `attempt` (0-based); resolves `false` when the signal aborts first. */
export async function backOff(
  attempt: number,
  { initialDelayMs = 50, maxDelayMs = 2_000 }: ReconnectOptions,
  signal?: AbortSignal,
): Promise<boolean> {
  const delay = Math.min(maxDelayMs, initialDelayMs * 2 ** attempt);
  try {
    await sleep(delay * (0.5 + Math.random() / 2), undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs `action` again after a transient error. Only for idempotent actions: reads, and appends
 * (EventStoreDB answers a repeated append of the same event ids with the first append's result).
 */
export async function retryTransient<T>(
  action: () => Promise<T>,
  options: ReconnectOptions,
): Promise<T> {
  const { maxAttempts = 5 } = options;
  for (let attempt = 0; ; attempt++) {
    try {
      return await action();
    } catch (error) {
      if (!isTransient(error) || attempt + 1 >= maxAttempts) throw error;
      await backOff(attempt, options);
    }
  }
}
