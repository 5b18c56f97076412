// Decider tests in given / when / then form: given past events, when a command is decided at a
// moment, then these events (or this refusal). Shared by the wallet and payout-policy tests.
import type { Test } from 'tap';
import type { WalletEvent } from '../../src/domain/events.ts';
import { decide, fold, type WalletCommand } from '../../src/domain/wallet.ts';

export const W = '11111111-1111-4111-8111-111111111111';
export const TARGET = '22222222-2222-4222-8222-222222222222';
export const WD = '33333333-3333-4333-8333-333333333333';
export const NOW = new Date('2026-01-01T12:00:00.000Z');
export const at = NOW.toISOString();
export const LATER = new Date('2026-01-01T12:05:00.000Z');
/** `NOW` plus `ms`, as the events write it. */
export const plus = (ms: number) => new Date(NOW.getTime() + ms).toISOString();

export const created: WalletEvent = {
  type: 'WalletCreated',
  data: { walletId: W, currency: 'USD', owner: null, at: '2026-01-01T10:00:00.000Z' },
};
export const deposited = (amount: string, depositId = 'd1'): WalletEvent => ({
  type: 'Deposited',
  data: { depositId, amount, at: '2026-01-01T10:01:00.000Z' },
});
export const scheduled = (
  amount = '50.00',
  id = WD,
  target: string | null = null,
): WalletEvent => ({
  type: 'WithdrawalScheduled',
  data: {
    withdrawalId: id,
    amount,
    target,
    scheduledTime: '2026-01-01T11:00:00.000Z',
    at: '2026-01-01T10:02:00.000Z',
  },
});
export const started = (amount = '50.00', id = WD): WalletEvent => ({
  type: 'WithdrawalStarted',
  data: { withdrawalId: id, amount, at: '2026-01-01T11:00:00.500Z' },
});
export const requested = (attempt: number): WalletEvent => ({
  type: 'WithdrawalPayoutRequested',
  data: { withdrawalId: WD, attempt, at: '2026-01-01T11:00:00.800Z' },
});
export const attemptFailed = (
  attempt: number,
  outcome: 'failed' | 'unknown' = 'failed',
  reason = 'HTTP 503',
  nextAttemptAt = '2026-01-01T11:00:05.000Z',
): WalletEvent => ({
  type: 'WithdrawalAttemptFailed',
  data: {
    withdrawalId: WD,
    attempt,
    reason,
    outcome,
    nextAttemptAt,
    at: '2026-01-01T11:00:01.000Z',
  },
});
export const awaiting = (attempt: number): WalletEvent => ({
  type: 'WithdrawalAwaitingSettlement',
  data: {
    withdrawalId: WD,
    attempt,
    reason: 'cannot tell',
    nextCheckAt: '2026-01-01T11:01:01.000Z',
    at: '2026-01-01T11:00:01.000Z',
  },
});
export const succeeded: WalletEvent = {
  type: 'WithdrawalSucceeded',
  data: { withdrawalId: WD, attempt: 1, at: '2026-01-01T11:00:02.000Z' },
};
export const failed: WalletEvent = {
  type: 'WithdrawalFailed',
  data: { withdrawalId: WD, reason: 'refused', refunded: '50.00', at: '2026-01-01T11:00:02.000Z' },
};
export const cancelled: WalletEvent = {
  type: 'WithdrawalCancelled',
  data: { withdrawalId: WD, at: '2026-01-01T10:30:00.000Z' },
};

/**
 * Withdrawal event types written short, for the failure-mode tables here and end to end:
 * `withdrawalEvents('PayoutRequested Succeeded')` is `['WithdrawalPayoutRequested', ...]`.
 */
export const withdrawalEvents = (short: string): string[] =>
  short
    .trim()
    .split(/\s+/)
    .map((name) => `Withdrawal${name}`);

/** Three requests, each failed (a definite failure on record). */
export const THREE_FAILED_ATTEMPTS =
  'PayoutRequested AttemptFailed PayoutRequested AttemptFailed PayoutRequested AttemptFailed';

/**
 * Three requests, each timed out: the unknown outcome on record, then the status lookup's "not
 * paid" (on the last attempt the lookup's verdict is the ending itself).
 */
export const THREE_TIMEOUTS_NOT_PAID =
  'PayoutRequested AttemptFailed AttemptFailed PayoutRequested AttemptFailed AttemptFailed PayoutRequested AttemptFailed';

type ErrorClass = abstract new (...args: never[]) => Error;

export function given(...history: WalletEvent[]) {
  return {
    when: (command: WalletCommand, now = NOW) => ({
      thenEmits(t: Test, expected: WalletEvent[]) {
        t.same(decide(command, fold(history), now), expected);
      },
      thenRefuses(t: Test, type: ErrorClass, properties?: Record<string, unknown>) {
        const error = (() => {
          try {
            decide(command, fold(history), now);
          } catch (e) {
            return e;
          }
        })();
        t.type(error, type);
        if (properties) t.match(error, properties);
      },
    }),
  };
}
