// The payout policy: a withdrawal's life after it was scheduled, as a pure decider beside the
// wallet's. `nextStep` says what the scheduler does next (start it, send a payout request, ask
// the third party's status lookup, credit the target wallet, or wait); `decideWithdrawal` turns
// what happened (a due moment, an answer, a lookup, an operator's settlement) into events;
// `evolveWithdrawal` folds them. No I/O; time and randomness are passed in.
//
// Money rules: the money leaves the wallet when the withdrawal starts; each request is on record
// before it goes out; a request whose outcome is unknown (a crash, a lost answer) is never sent
// again and never refunded until the status lookup says what happened (or an operator settles
// it from the bank's records); a refund follows only a definite "not paid"; a verdict arriving
// after the withdrawal ended the other way is recorded as a conflict, never dropped.

import { WithdrawalNotSettleable } from './errors.ts';
import type { ReportedVerdict, WalletEvent } from './events.ts';
import { formatAmount } from './money.ts';

export type WithdrawalStatus = 'PENDING' | 'PROCESSING' | 'SUCCESS' | 'FAILED' | 'CANCELLED';

export interface OutcomeConflict {
  readonly recorded: 'SUCCESS' | 'FAILED';
  readonly reported: ReportedVerdict;
}

export interface Withdrawal {
  readonly id: string;
  readonly amount: bigint;
  readonly target: string | null;
  readonly scheduledTime: string;
  readonly status: WithdrawalStatus;
  /** Attempts whose outcome is on record (failed, or unknown). */
  readonly attempts: number;
  /** The attempt whose request is on record last (`WithdrawalPayoutRequested`); 0: none yet. */
  readonly requestedAttempt: number;
  /** Not before this moment is the next step taken (a retry's backoff, a recheck). */
  readonly nextAttemptAt: string | null;
  /** The last request may have been paid: only the status lookup (or an operator) may settle it. */
  readonly outcomeUnknown: boolean;
  /** The third party cannot tell what became of the last request: an operator may settle it. */
  readonly awaitingSettlement: boolean;
  readonly conflict: OutcomeConflict | null;
  readonly errorMessage: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** What the third party answered to a payout request. */
export type PayoutAnswer =
  | { readonly kind: 'paid' }
  /** A definite no: retrying will not help; the money goes back. */
  | { readonly kind: 'refused'; readonly reason: string }
  /** Not paid, for sure (a failure answer, or no connection at all): may be retried. */
  | { readonly kind: 'failed'; readonly reason: string }
  /** The request may or may not have been paid (timeout, connection lost mid-request). */
  | { readonly kind: 'unknown'; readonly reason: string };

/** What the status lookup says of the withdrawal's requests; `unsupported` when it cannot tell. */
export type LookupResult = 'paid' | 'refused' | 'not_found' | 'unsupported';

export interface PayoutPolicy {
  readonly maxAttempts: number;
  /** Backoff before attempt n+1 is retryBaseMs * 2^(n-1), times the command's jitter. */
  readonly retryBaseMs: number;
  /** How long until an outcome the third party cannot tell is asked about again. */
  readonly recheckMs: number;
}

export type WithdrawalCommand =
  | { type: 'StartWithdrawal'; withdrawalId: string }
  | { type: 'RequestPayout'; withdrawalId: string; attempt: number }
  | {
      type: 'RecordPayoutAnswer';
      withdrawalId: string;
      attempt: number;
      answer: PayoutAnswer;
      policy: PayoutPolicy;
      /** Spreads retries of withdrawals that failed together: a factor around 1 (0.75..1.25). */
      jitter: number;
    }
  | {
      type: 'RecordLookup';
      withdrawalId: string;
      result: LookupResult;
      policy: PayoutPolicy;
      jitter: number;
    }
  | {
      type: 'SettleWithdrawal';
      withdrawalId: string;
      verdict: 'paid' | 'not_paid';
      operator: string;
      /** Settle although a request is outstanding whose outcome the third party could tell. */
      force: boolean;
    };

/** The scheduler's next step for a withdrawal. */
export type PayoutStep =
  | { readonly kind: 'wait'; readonly until: Date }
  | { readonly kind: 'start' }
  | { readonly kind: 'request'; readonly attempt: number }
  | { readonly kind: 'lookup' }
  | { readonly kind: 'credit'; readonly target: string }
  | { readonly kind: 'done' };

export function nextStep(withdrawal: Withdrawal, now: Date, policy: PayoutPolicy): PayoutStep {
  switch (withdrawal.status) {
    case 'PENDING': {
      const due = Date.parse(withdrawal.scheduledTime);
      return due > now.getTime() ? { kind: 'wait', until: new Date(due) } : { kind: 'start' };
    }
    case 'PROCESSING': {
      const next = withdrawal.nextAttemptAt ? Date.parse(withdrawal.nextAttemptAt) : 0;
      if (next > now.getTime()) return { kind: 'wait', until: new Date(next) };
      // Unknown: resending could pay twice. Out of attempts: make sure nothing was paid before
      // the money goes back (a third party may answer an error after paying).
      if (withdrawal.outcomeUnknown || withdrawal.attempts >= policy.maxAttempts) {
        return { kind: 'lookup' };
      }
      return { kind: 'request', attempt: withdrawal.attempts + 1 };
    }
    case 'SUCCESS':
      return withdrawal.target ? { kind: 'credit', target: withdrawal.target } : { kind: 'done' };
    case 'FAILED':
    case 'CANCELLED':
      return { kind: 'done' };
  }
}

/** The wallet facts a withdrawal decision needs. */
export interface WalletFacts {
  readonly balance: bigint;
  readonly currency: string;
}

export function insufficientFundsMessage(
  balance: bigint,
  amount: bigint,
  currency: string,
): string {
  return `Insufficient funds. Available balance: ${formatAmount(balance, currency)}. Required amount: ${formatAmount(amount, currency)}.`;
}

export function decideWithdrawal(
  command: WithdrawalCommand,
  withdrawal: Withdrawal,
  wallet: WalletFacts,
  now: Date,
): WalletEvent[] {
  const at = now.toISOString();
  const withdrawalId = withdrawal.id;
  const amount = formatAmount(withdrawal.amount, wallet.currency);
  const succeeded = (attempt: number, settledBy?: { operator: string; forced: boolean }) =>
    [
      {
        type: 'WithdrawalSucceeded',
        data: { withdrawalId, attempt, at, ...(settledBy ? { settledBy } : {}) },
      },
    ] satisfies WalletEvent[];
  const failed = (reason: string, settledBy?: { operator: string; forced: boolean }) =>
    [
      {
        type: 'WithdrawalFailed',
        data: { withdrawalId, reason, refunded: amount, at, ...(settledBy ? { settledBy } : {}) },
      },
    ] satisfies WalletEvent[];
  const attemptFailed = (
    attempt: number,
    outcome: 'failed' | 'unknown',
    reason: string,
    delayMs: number,
  ): WalletEvent[] => [
    {
      type: 'WithdrawalAttemptFailed',
      data: {
        withdrawalId,
        attempt,
        reason,
        outcome,
        nextAttemptAt: new Date(now.getTime() + delayMs).toISOString(),
        at,
      },
    },
  ];
  /** The attempt an answer or a lookup speaks of: the last one on record. */
  const lastAttempt = Math.max(withdrawal.requestedAttempt, withdrawal.attempts);

  switch (command.type) {
    case 'StartWithdrawal': {
      if (withdrawal.status !== 'PENDING') return [];
      if (Date.parse(withdrawal.scheduledTime) > now.getTime()) return [];
      if (wallet.balance < withdrawal.amount) {
        const reason = insufficientFundsMessage(wallet.balance, withdrawal.amount, wallet.currency);
        return [
          {
            type: 'WithdrawalFailed',
            data: { withdrawalId, reason, refunded: formatAmount(0n, wallet.currency), at },
          },
        ];
      }
      return [{ type: 'WithdrawalStarted', data: { withdrawalId, amount, at } }];
    }

    case 'RequestPayout': {
      // Only the next attempt, once, and never while the last one's fate is unknown.
      if (withdrawal.status !== 'PROCESSING' || withdrawal.outcomeUnknown) return [];
      if (command.attempt !== withdrawal.attempts + 1) return [];
      return [
        { type: 'WithdrawalPayoutRequested', data: { withdrawalId, attempt: command.attempt, at } },
      ];
    }

    case 'RecordPayoutAnswer': {
      const { answer, attempt, policy, jitter } = command;
      if (withdrawal.status !== 'PROCESSING') {
        const verdict: ReportedVerdict | undefined =
          answer.kind === 'paid' ? 'paid' : answer.kind === 'refused' ? 'refused' : undefined;
        return verdict ? conflict(withdrawal, wallet, verdict, at) : [];
      }
      // An answer to the request on record whose outcome is not yet; anything else is a repeat.
      if (attempt !== withdrawal.requestedAttempt || attempt <= withdrawal.attempts) return [];
      switch (answer.kind) {
        case 'paid':
          return succeeded(attempt);
        case 'refused':
          return failed(answer.reason);
        case 'failed':
          return attemptFailed(
            attempt,
            'failed',
            answer.reason,
            attempt < policy.maxAttempts ? backoff(policy, attempt, jitter) : 0,
          );
        case 'unknown':
          // Asked about at once: the lookup settles it, or says it cannot.
          return attemptFailed(attempt, 'unknown', answer.reason, 0);
      }
      return [];
    }

    case 'RecordLookup': {
      const { result, policy, jitter } = command;
      if (withdrawal.status !== 'PROCESSING') {
        const verdict: ReportedVerdict | undefined =
          result === 'paid'
            ? 'paid'
            : result === 'refused'
              ? 'refused'
              : result === 'not_found'
                ? 'not_paid'
                : undefined;
        return verdict ? conflict(withdrawal, wallet, verdict, at) : [];
      }
      const finalCheck = !withdrawal.outcomeUnknown && withdrawal.attempts >= policy.maxAttempts;
      if (!withdrawal.outcomeUnknown && !finalCheck) return []; // nothing was asked
      const lastError = withdrawal.errorMessage ? `${withdrawal.errorMessage} ` : '';
      switch (result) {
        case 'paid':
          return succeeded(lastAttempt);
        case 'refused':
          return failed('Payout refused (found by status lookup).');
        case 'not_found':
          if (finalCheck) return failed(`${lastError}Gave up after ${lastAttempt} attempts.`);
          if (lastAttempt < policy.maxAttempts) {
            return attemptFailed(
              lastAttempt,
              'failed',
              `${lastError}Not paid (status lookup).`,
              backoff(policy, lastAttempt, jitter),
            );
          }
          return failed(
            `${lastError}Not paid (status lookup). Gave up after ${lastAttempt} attempts.`,
          );
        case 'unsupported':
          // A definite failure needs no lookup to be refunded; an unknown outcome does.
          if (finalCheck) return failed(`${lastError}Gave up after ${lastAttempt} attempts.`);
          if (withdrawal.awaitingSettlement) return [];
          return [
            {
              type: 'WithdrawalAwaitingSettlement',
              data: {
                withdrawalId,
                attempt: lastAttempt,
                reason: `${lastError}The third party cannot tell whether it was paid: waiting for an operator to settle it.`,
                nextCheckAt: new Date(now.getTime() + policy.recheckMs).toISOString(),
                at,
              },
            },
          ];
      }
      return [];
    }

    case 'SettleWithdrawal': {
      const { verdict, operator, force } = command;
      if (withdrawal.status !== 'PROCESSING') {
        throw new WithdrawalNotSettleable(
          withdrawalId,
          withdrawal.status,
          withdrawal.status === 'PENDING' ? 'not_started' : 'ended',
        );
      }
      if (withdrawal.outcomeUnknown && !withdrawal.awaitingSettlement && !force) {
        throw new WithdrawalNotSettleable(withdrawalId, withdrawal.status, 'outcome_pending');
      }
      const settledBy = { operator, forced: force };
      return verdict === 'paid'
        ? succeeded(Math.max(lastAttempt, 1), settledBy)
        : failed('Not paid (settled by an operator).', settledBy);
    }
  }
}

function backoff(policy: PayoutPolicy, attempt: number, jitter: number): number {
  return Math.round(policy.retryBaseMs * 2 ** (attempt - 1) * jitter);
}

/** A verdict for an ended withdrawal: nothing if it agrees, a conflict (once) if it does not. */
function conflict(
  withdrawal: Withdrawal,
  wallet: WalletFacts,
  reported: ReportedVerdict,
  at: string,
): WalletEvent[] {
  const { status } = withdrawal;
  if (withdrawal.conflict || (status !== 'SUCCESS' && status !== 'FAILED')) return [];
  if ((status === 'SUCCESS') === (reported === 'paid')) return [];
  const amount = formatAmount(withdrawal.amount, wallet.currency);
  const reason =
    reported === 'paid'
      ? `The third party paid this withdrawal after it was refunded: ${amount} ${wallet.currency} is owed back by the wallet's owner.`
      : `The third party says this withdrawal was ${reported === 'refused' ? 'refused' : 'never paid'} after it was recorded as paid: ${amount} ${wallet.currency} is owed to the wallet's owner.`;
  return [
    {
      type: 'WithdrawalOutcomeConflict',
      data: { withdrawalId: withdrawal.id, recorded: status, reported, amount, reason, at },
    },
  ];
}

/** The withdrawal after one of its events (a new object; `withdrawal` is not touched). */
export function evolveWithdrawal(withdrawal: Withdrawal, event: WalletEvent): Withdrawal {
  const updatedAt = event.data.at;
  switch (event.type) {
    case 'WithdrawalStarted':
      return { ...withdrawal, status: 'PROCESSING', nextAttemptAt: updatedAt, updatedAt };
    case 'WithdrawalPayoutRequested':
      return {
        ...withdrawal,
        outcomeUnknown: true,
        requestedAttempt: event.data.attempt,
        updatedAt,
      };
    case 'WithdrawalAttemptFailed':
      return {
        ...withdrawal,
        attempts: event.data.attempt,
        nextAttemptAt: event.data.nextAttemptAt,
        outcomeUnknown: event.data.outcome === 'unknown',
        awaitingSettlement: false,
        errorMessage: event.data.reason,
        updatedAt,
      };
    case 'WithdrawalAwaitingSettlement':
      return {
        ...withdrawal,
        awaitingSettlement: true,
        nextAttemptAt: event.data.nextCheckAt,
        errorMessage: event.data.reason,
        updatedAt,
      };
    case 'WithdrawalSucceeded':
      return {
        ...withdrawal,
        status: 'SUCCESS',
        attempts: event.data.attempt,
        nextAttemptAt: null,
        outcomeUnknown: false,
        awaitingSettlement: false,
        errorMessage: '',
        updatedAt,
      };
    case 'WithdrawalFailed':
      return {
        ...withdrawal,
        status: 'FAILED',
        nextAttemptAt: null,
        outcomeUnknown: false,
        awaitingSettlement: false,
        errorMessage: event.data.reason,
        updatedAt,
      };
    case 'WithdrawalOutcomeConflict':
      return {
        ...withdrawal,
        conflict: { recorded: event.data.recorded, reported: event.data.reported },
        errorMessage: event.data.reason,
        updatedAt,
      };
    case 'WithdrawalCancelled':
      return { ...withdrawal, status: 'CANCELLED', updatedAt };
    default:
      return withdrawal;
  }
}
