// The wallet decider: `decide(command, state, now) -> events` and `evolve(state, event) -> state`.
// Pure: no I/O, time passed in. Everything else (HTTP, stores, scheduler) is plumbing around it.
import type { AttemptOutcome, IdempotencyStamp, WalletEvent } from './events.ts';
import { formatAmount, isCurrency, parseAmount, toMinorUnits } from './money.ts';

export type WithdrawalStatus = 'PENDING' | 'PROCESSING' | 'SUCCESS' | 'FAILED' | 'CANCELLED';

export interface Withdrawal {
  readonly id: string;
  readonly amount: bigint;
  readonly target: string | null;
  readonly scheduledTime: string;
  readonly status: WithdrawalStatus;
  /** Third-party attempts that failed so far (after `WithdrawalStarted`). */
  readonly attempts: number;
  readonly nextAttemptAt: string | null;
  /**
   * A request went out (or may have) and its outcome is not on record: settle it by the status
   * lookup before any new one.
   */
  readonly outcomeUnknown: boolean;
  /** The attempt whose request is on record last (`WithdrawalPayoutRequested`); 0: none yet. */
  readonly requestedAttempt: number;
  readonly errorMessage: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface TransferIn {
  readonly withdrawalId: string;
  readonly fromWalletId: string;
  readonly amount: bigint;
  readonly scheduledTime: string;
  readonly at: string;
}

export interface Wallet {
  readonly id: string;
  readonly currency: string;
  readonly owner: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly balance: bigint;
  /** Stream revision of the last event folded in. */
  readonly revision: bigint;
  // Collections are shared between successive states of one fold (see `evolve`).
  readonly withdrawals: Map<string, Withdrawal>;
  readonly incoming: Map<string, TransferIn>;
  /** Idempotency key -> the request it answered and the revision its event got. */
  readonly idempotency: Map<string, { requestHash: string; revision: bigint }>;
}

/** `null`: the stream holds no `WalletCreated` yet. */
export type WalletState = Wallet | null;

export const initialState: WalletState = null;

/** Sent with client commands: the key and the hash of the request body it came with. */
export interface Idempotency {
  readonly key: string;
  readonly requestHash: string;
}

export type WalletCommand =
  | {
      type: 'CreateWallet';
      walletId: string;
      currency: string;
      owner: string | null;
      idempotency?: Idempotency;
    }
  | { type: 'Deposit'; depositId: string; amount: string | number; idempotency?: Idempotency }
  | {
      type: 'ScheduleWithdrawal';
      withdrawalId: string;
      amount: string | number;
      scheduledTime: Date;
      /** The target wallet as the caller found it, or null for a payout to the owner. */
      target: { walletId: string; currency: string } | null;
      idempotency?: Idempotency;
    }
  | { type: 'CancelWithdrawal'; withdrawalId: string; idempotency?: Idempotency }
  | { type: 'StartWithdrawal'; withdrawalId: string }
  | {
      type: 'RecordAttemptFailure';
      withdrawalId: string;
      attempt: number;
      reason: string;
      outcome: AttemptOutcome;
      nextAttemptAt: Date;
    }
  | { type: 'RequestPayout'; withdrawalId: string; attempt: number }
  | { type: 'CompleteWithdrawal'; withdrawalId: string }
  | { type: 'FailWithdrawal'; withdrawalId: string; reason: string }
  | {
      type: 'ReceiveTransfer';
      withdrawalId: string;
      fromWalletId: string;
      amount: bigint;
      scheduledTime: string;
    };

export type WalletErrorKind = 'invalid' | 'not_found' | 'conflict';

/** A command the wallet refuses. `fields` maps request fields to messages, as the original API did. */
export class WalletError extends Error {
  override readonly name = 'WalletError';
  constructor(
    readonly kind: WalletErrorKind,
    message: string,
    readonly fields?: Readonly<Record<string, string[]>>,
  ) {
    super(message);
  }
}

const invalid = (field: string, ...messages: string[]) =>
  new WalletError('invalid', messages.join(' '), { [field]: messages });

/** How far ahead a withdrawal may be scheduled: a guard against typos and abuse. */
export const MAX_SCHEDULE_AHEAD_MS = 10 * 366 * 24 * 3600 * 1000;

export function insufficientFundsMessage(
  balance: bigint,
  amount: bigint,
  currency: string,
): string {
  return `Insufficient funds. Available balance: ${formatAmount(balance, currency)}. Required amount: ${formatAmount(amount, currency)}.`;
}

export function decide(command: WalletCommand, state: WalletState, now: Date): WalletEvent[] {
  const at = now.toISOString();
  if (command.type === 'CreateWallet') {
    if (state) {
      if (isReplay(state, command.idempotency)) return [];
      throw new WalletError('conflict', `Wallet ${command.walletId} already exists.`);
    }
    if (!isCurrency(command.currency)) {
      throw invalid('currency', `"${command.currency}" is not a valid ISO 4217 currency code.`);
    }
    return [
      {
        type: 'WalletCreated',
        data: {
          walletId: command.walletId,
          currency: command.currency,
          owner: command.owner,
          at,
          ...stamp(command.idempotency),
        },
      },
    ];
  }

  if (!state) throw new WalletError('not_found', 'Not found.');
  if ('idempotency' in command && isReplay(state, command.idempotency)) return [];

  switch (command.type) {
    case 'Deposit': {
      const amount = validAmount(command.amount, state.currency);
      return [
        {
          type: 'Deposited',
          data: {
            depositId: command.depositId,
            amount: formatAmount(amount, state.currency),
            at,
            ...stamp(command.idempotency),
          },
        },
      ];
    }
    case 'ScheduleWithdrawal': {
      const amount = validAmount(command.amount, state.currency);
      if (!Number.isFinite(command.scheduledTime.getTime())) {
        throw invalid('scheduled_time', 'Scheduled time is out of range.');
      }
      if (command.scheduledTime.getTime() <= now.getTime()) {
        throw invalid('scheduled_time', 'Scheduled time must be in the future.');
      }
      if (command.scheduledTime.getTime() - now.getTime() > MAX_SCHEDULE_AHEAD_MS) {
        throw invalid('scheduled_time', 'Scheduled time must be within 10 years.');
      }
      const target = command.target;
      if (target?.walletId === state.id) {
        throw invalid('target', 'Target wallet must differ from the source wallet.');
      }
      if (target && target.currency !== state.currency) {
        throw invalid(
          'target',
          `Target wallet holds ${target.currency}, this wallet holds ${state.currency}.`,
        );
      }
      return [
        {
          type: 'WithdrawalScheduled',
          data: {
            withdrawalId: command.withdrawalId,
            amount: formatAmount(amount, state.currency),
            target: target?.walletId ?? null,
            scheduledTime: command.scheduledTime.toISOString(),
            at,
            ...stamp(command.idempotency),
          },
        },
      ];
    }
    case 'CancelWithdrawal': {
      const withdrawal = findWithdrawal(state, command.withdrawalId);
      if (withdrawal.status === 'CANCELLED') return [];
      if (withdrawal.status !== 'PENDING') {
        throw new WalletError(
          'conflict',
          `Withdrawal ${withdrawal.id} is ${withdrawal.status} and can no longer be cancelled.`,
        );
      }
      return [
        {
          type: 'WithdrawalCancelled',
          data: { withdrawalId: withdrawal.id, at, ...stamp(command.idempotency) },
        },
      ];
    }
    case 'StartWithdrawal': {
      const withdrawal = findWithdrawal(state, command.withdrawalId);
      if (withdrawal.status !== 'PENDING') return [];
      if (Date.parse(withdrawal.scheduledTime) > now.getTime()) return [];
      const amount = formatAmount(withdrawal.amount, state.currency);
      if (state.balance < withdrawal.amount) {
        const reason = insufficientFundsMessage(state.balance, withdrawal.amount, state.currency);
        return [
          {
            type: 'WithdrawalFailed',
            data: {
              withdrawalId: withdrawal.id,
              reason,
              refunded: formatAmount(0n, state.currency),
              at,
            },
          },
        ];
      }
      return [{ type: 'WithdrawalStarted', data: { withdrawalId: withdrawal.id, amount, at } }];
    }
    case 'RecordAttemptFailure': {
      const withdrawal = findWithdrawal(state, command.withdrawalId);
      // A repeated report of the same attempt (a retried scheduler step) changes nothing.
      if (withdrawal.status !== 'PROCESSING' || command.attempt !== withdrawal.attempts + 1)
        return [];
      return [
        {
          type: 'WithdrawalAttemptFailed',
          data: {
            withdrawalId: withdrawal.id,
            attempt: command.attempt,
            reason: command.reason,
            outcome: command.outcome,
            nextAttemptAt: command.nextAttemptAt.toISOString(),
            at,
          },
        },
      ];
    }
    case 'RequestPayout': {
      const withdrawal = findWithdrawal(state, command.withdrawalId);
      // Only the next attempt, once: asked again for it (after a lookup said "never received"),
      // the request is already on record.
      if (withdrawal.status !== 'PROCESSING' || command.attempt !== withdrawal.attempts + 1)
        return [];
      if (withdrawal.requestedAttempt === command.attempt) return [];
      return [
        {
          type: 'WithdrawalPayoutRequested',
          data: { withdrawalId: withdrawal.id, attempt: command.attempt, at },
        },
      ];
    }
    case 'CompleteWithdrawal': {
      const withdrawal = processing(state, command.withdrawalId);
      if (!withdrawal) return [];
      return [
        {
          type: 'WithdrawalSucceeded',
          data: { withdrawalId: withdrawal.id, attempt: withdrawal.attempts + 1, at },
        },
      ];
    }
    case 'FailWithdrawal': {
      const withdrawal = processing(state, command.withdrawalId);
      if (!withdrawal) return [];
      return [
        {
          type: 'WithdrawalFailed',
          data: {
            withdrawalId: withdrawal.id,
            reason: command.reason,
            refunded: formatAmount(withdrawal.amount, state.currency),
            at,
          },
        },
      ];
    }
    case 'ReceiveTransfer': {
      if (state.incoming.has(command.withdrawalId)) return [];
      return [
        {
          type: 'TransferReceived',
          data: {
            withdrawalId: command.withdrawalId,
            fromWalletId: command.fromWalletId,
            amount: formatAmount(command.amount, state.currency),
            scheduledTime: command.scheduledTime,
            at,
          },
        },
      ];
    }
  }
}

/**
 * The state after `event`. Folding is forward-only: the returned state shares (and updates) the
 * collections of the one passed in, which must not be used afterwards. That keeps folding a long
 * stream linear instead of copying every map at every event.
 */
export function evolve(state: WalletState, event: WalletEvent): WalletState {
  if (event.type === 'WalletCreated') {
    const { walletId, currency, owner, at } = event.data;
    const created: Wallet = {
      id: walletId,
      currency,
      owner,
      createdAt: at,
      updatedAt: at,
      balance: 0n,
      revision: 0n,
      withdrawals: new Map(),
      incoming: new Map(),
      idempotency: new Map(),
    };
    remember(created, event.data);
    return created;
  }
  if (!state) return state; // events before creation cannot be written (see decide)
  const next = { ...state, revision: state.revision + 1n, updatedAt: event.data.at };
  const minor = (amount: string) => toMinorUnits(amount, state.currency);
  const update = (id: string, change: Partial<Withdrawal>) => {
    const withdrawal = state.withdrawals.get(id);
    if (withdrawal) {
      state.withdrawals.set(id, { ...withdrawal, ...change, updatedAt: event.data.at });
    }
  };

  switch (event.type) {
    case 'Deposited':
      remember(next, event.data);
      return { ...next, balance: state.balance + minor(event.data.amount) };
    case 'WithdrawalScheduled': {
      const { withdrawalId, amount, target, scheduledTime, at } = event.data;
      state.withdrawals.set(withdrawalId, {
        id: withdrawalId,
        amount: minor(amount),
        target,
        scheduledTime,
        status: 'PENDING',
        attempts: 0,
        nextAttemptAt: null,
        outcomeUnknown: false,
        requestedAttempt: 0,
        errorMessage: '',
        createdAt: at,
        updatedAt: at,
      });
      remember(next, event.data);
      return next;
    }
    case 'WithdrawalStarted':
      update(event.data.withdrawalId, { status: 'PROCESSING', nextAttemptAt: event.data.at });
      return { ...next, balance: state.balance - minor(event.data.amount) };
    case 'WithdrawalPayoutRequested':
      update(event.data.withdrawalId, {
        outcomeUnknown: true,
        requestedAttempt: event.data.attempt,
      });
      return next;
    case 'WithdrawalAttemptFailed':
      update(event.data.withdrawalId, {
        attempts: event.data.attempt,
        nextAttemptAt: event.data.nextAttemptAt,
        outcomeUnknown: event.data.outcome === 'unknown',
        errorMessage: event.data.reason,
      });
      return next;
    case 'WithdrawalSucceeded':
      update(event.data.withdrawalId, {
        status: 'SUCCESS',
        attempts: event.data.attempt,
        nextAttemptAt: null,
        errorMessage: '',
      });
      return next;
    case 'WithdrawalFailed':
      update(event.data.withdrawalId, {
        status: 'FAILED',
        nextAttemptAt: null,
        errorMessage: event.data.reason,
      });
      return { ...next, balance: state.balance + minor(event.data.refunded) };
    case 'WithdrawalCancelled':
      update(event.data.withdrawalId, { status: 'CANCELLED' });
      remember(next, event.data);
      return next;
    case 'TransferReceived': {
      const { withdrawalId, fromWalletId, amount, scheduledTime, at } = event.data;
      const received = minor(amount);
      state.incoming.set(withdrawalId, {
        withdrawalId,
        fromWalletId,
        amount: received,
        scheduledTime,
        at,
      });
      return { ...next, balance: state.balance + received };
    }
  }
}

/**
 * A copy that later folds do not touch (the transaction maps are copied; the idempotency map is
 * shared, it only ever grows and is not shown).
 */
export function snapshot(wallet: Wallet): Wallet {
  return {
    ...wallet,
    withdrawals: new Map(wallet.withdrawals),
    incoming: new Map(wallet.incoming),
  };
}

/** A copy to fold forward without touching `wallet` (every collection copied). */
export function workingCopy(wallet: Wallet): Wallet {
  return { ...snapshot(wallet), idempotency: new Map(wallet.idempotency) };
}

/** Folds events from the initial state (or from `state`, forward-only as `evolve`). */
export function fold(
  events: Iterable<WalletEvent>,
  state: WalletState = initialState,
): WalletState {
  let current = state;
  for (const event of events) current = evolve(current, event);
  return current;
}

/** The revision whose result a retried keyed command must return, if this key was used before. */
export function previousResult(state: WalletState, key: string | undefined): bigint | undefined {
  return key === undefined ? undefined : state?.idempotency.get(key)?.revision;
}

function isReplay(state: Wallet, idempotency: Idempotency | undefined): boolean {
  if (!idempotency) return false;
  const seen = state.idempotency.get(idempotency.key);
  if (!seen) return false;
  if (seen.requestHash !== idempotency.requestHash) {
    throw new WalletError(
      'conflict',
      'This Idempotency-Key was already used with a different request.',
    );
  }
  return true;
}

function stamp(idempotency: Idempotency | undefined): IdempotencyStamp {
  return idempotency
    ? { idempotencyKey: idempotency.key, requestHash: idempotency.requestHash }
    : {};
}

function remember(wallet: Wallet, data: IdempotencyStamp): void {
  if (data.idempotencyKey && data.requestHash) {
    wallet.idempotency.set(data.idempotencyKey, {
      requestHash: data.requestHash,
      revision: wallet.revision,
    });
  }
}

function validAmount(input: string | number, currency: string): bigint {
  const result = parseAmount(input, currency);
  if (!result.ok) throw invalid('amount', ...result.errors);
  return result.minor;
}

function findWithdrawal(state: Wallet, id: string): Withdrawal {
  const withdrawal = state.withdrawals.get(id);
  if (!withdrawal) throw new WalletError('not_found', `No withdrawal ${id} in this wallet.`);
  return withdrawal;
}

/** The withdrawal if the third party's verdict is still awaited; undefined once it has ended. */
function processing(state: Wallet, id: string): Withdrawal | undefined {
  const withdrawal = findWithdrawal(state, id);
  if (withdrawal.status === 'PROCESSING') return withdrawal;
  if (withdrawal.status === 'PENDING') {
    throw new WalletError('conflict', `Withdrawal ${id} has not started.`);
  }
  return undefined;
}
