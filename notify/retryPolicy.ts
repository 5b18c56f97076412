// After an attempt: delivered, another attempt after the schedule's next wait (with jitter, so
// deliveries that failed together do not all come back at the same moment), or failed once its
// attempts are spent. Pure: the clock and the randomness are passed in.
import type { Delivery } from './store/loadHead.ts';
import type { Verdict } from './store/recordAttempt.ts';

/** Each wait is stretched or shrunk by up to this share, at random. */
export const JITTER = 0.2;

export function verdictAfter(
  delivery: Pick<Delivery, 'attempts' | 'maxAttempts'>,
  ok: boolean,
  { scheduleMs, now, random }: { scheduleMs: readonly number[]; now: Date; random: () => number },
): Verdict {
  if (ok) return { status: 'delivered' };
  const attempt = delivery.attempts + 1;
  if (attempt >= delivery.maxAttempts || scheduleMs.length === 0) return { status: 'failed' };
  const wait = scheduleMs[Math.min(attempt, scheduleMs.length) - 1] as number;
  const jittered = wait * (1 - JITTER + 2 * JITTER * random());
  return { status: 'pending', nextAttemptAt: new Date(now.getTime() + Math.round(jittered)) };
}

/** Attempts a new delivery gets: the first, then one per wait of the schedule. */
export const attemptsFor = (scheduleMs: readonly number[]): number => scheduleMs.length + 1;
