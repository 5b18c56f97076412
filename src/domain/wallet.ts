// The wallet decider: `decide(command, state, now) -> events` and `evolve(state, event) -> state`.
// Pure: no I/O, time passed in, inputs never changed (states share structure through persistent
// collections, so folding a long stream stays linear). A withdrawal's life after it was scheduled
// is the payout policy's (withdrawal.ts); this decider hands those commands and events over.
import { Map as ImmutableMap, OrderedMap } from 'immutable';
import {
  IdempotencyKeyReused,
  InvalidAmount,
  InvalidCurrency,
  InvalidScheduledTime,
  InvalidTarget,
  WalletAlreadyExists,
  WalletNotFound,
  WithdrawalNotCancellable,
  WithdrawalNotFound,
} from './errors.ts';
import { type IdempotencyStamp, unhandled, type WalletEvent } from './events.ts';
import { formatAmount, isCurrency, parseAmount, toMinorUnits } from './money.ts';
import {
  decideWithdrawal,
  evolveWithdrawal,
  type Withdrawal,
  type WithdrawalCommand,
} from './withdrawal.ts';

export type { Withdrawal, WithdrawalStatus } from './withdrawal.ts';

export interface TransferIn {
  readonly withdrawalId: string;
  readonly fromWalletId: string;
  readonly amount: bigint;
  readonly scheduledTime: string;
  readonly at: string;
}

export interface IdempotencyRecord {
  readonly requestHash: string;
  /** The revision of the event the keyed command produced: a retry answers as of it. */
  readonly revision: bigint;
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
  /** Withdrawals in the order they were scheduled. */
  readonly withdrawals: OrderedMap<string, Withdrawal>;
  /** Transfers received, in the order they arrived. */
  readonly incoming: OrderedMap<string, TransferIn>;
  /** Idempotency key -> the request it answered. */
  readonly idempotency: ImmutableMap<string, IdempotencyRecord>;
}

/** `null`: the stream holds no `WalletCreated` yet. */
export type WalletState = Wallet | null;

export const initialState: WalletState = null;

/** Sent with client commands: the key and the hash of the request body it came with. */
export interface Idempotency {
  readonly key: string;
  readonly requestHash: string;
}

/** The target wallet of a withdrawal as the caller found it: `null` when there is none. */
export interface TargetWallet {
  readonly walletId: string;
  readonly currency: string;
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
      /** Absent: a payout to the owner. `found: null`: the caller found no such wallet. */
      target: { walletId: string; found: TargetWallet | null } | null;
      idempotency?: Idempotency;
    }
  | { type: 'CancelWithdrawal'; withdrawalId: string; idempotency?: Idempotency }
  | {
      type: 'ReceiveTransfer';
      withdrawalId: string;
      fromWalletId: string;
      amount: bigint;
      scheduledTime: string;
    }
  | WithdrawalCommand;

/** How far ahead a withdrawal may be scheduled: a guard against typos and abuse. */
export const MAX_SCHEDULE_AHEAD_MS = 10 * 366 * 24 * 3600 * 1000;

export function decide(command: WalletCommand, state: WalletState, now: Date): WalletEvent[] {
  const at = now.toISOString();
  if (command.type === 'CreateWallet') {
    if (state) {
      if (isReplay(state, command.idempotency)) return [];
      throw new WalletAlreadyExists(command.walletId);
    }
    if (!isCurrency(command.currency)) throw new InvalidCurrency(command.currency);
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

  if (!state) throw new WalletNotFound();
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
      const due = command.scheduledTime.getTime();
      if (!Number.isFinite(due)) throw new InvalidScheduledTime('not_a_time');
      if (due <= now.getTime()) throw new InvalidScheduledTime('not_in_future');
      if (due - now.getTime() > MAX_SCHEDULE_AHEAD_MS) {
        throw new InvalidScheduledTime('too_far_ahead');
      }
      const target = command.target;
      if (target) {
        if (target.walletId === state.id) {
          throw new InvalidTarget(target.walletId, { kind: 'same_wallet' });
        }
        if (!target.found) throw new InvalidTarget(target.walletId, { kind: 'not_found' });
        if (target.found.currency !== state.currency) {
          throw new InvalidTarget(target.walletId, {
            kind: 'other_currency',
            targetCurrency: target.found.currency,
            currency: state.currency,
          });
        }
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
        throw new WithdrawalNotCancellable(withdrawal.id, withdrawal.status);
      }
      return [
        {
          type: 'WithdrawalCancelled',
          data: { withdrawalId: withdrawal.id, at, ...stamp(command.idempotency) },
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
    default:
      return decideWithdrawal(command, findWithdrawal(state, command.withdrawalId), state, now);
  }
}

/** The state after `event`: a new state; `state` and everything it holds stay as they were. */
export function evolve(state: WalletState, event: WalletEvent): WalletState {
  if (event.type === 'WalletCreated') {
    const { walletId, currency, owner, at } = event.data;
    return {
      id: walletId,
      currency,
      owner,
      createdAt: at,
      updatedAt: at,
      balance: 0n,
      revision: 0n,
      withdrawals: OrderedMap(),
      incoming: OrderedMap(),
      idempotency: remember(ImmutableMap(), event.data, 0n),
    };
  }
  if (!state) return state; // events before creation cannot be written (see decide)
  const revision = state.revision + 1n;
  const next: Wallet = { ...state, revision, updatedAt: event.data.at };
  const minor = (amount: string) => toMinorUnits(amount, state.currency);
  const withWithdrawal = (wallet: Wallet, id: string): Wallet => {
    const withdrawal = wallet.withdrawals.get(id);
    if (!withdrawal) return wallet;
    return {
      ...wallet,
      withdrawals: wallet.withdrawals.set(id, evolveWithdrawal(withdrawal, event)),
    };
  };

  switch (event.type) {
    case 'Deposited':
      return {
        ...next,
        balance: state.balance + minor(event.data.amount),
        idempotency: remember(state.idempotency, event.data, revision),
      };
    case 'WithdrawalScheduled': {
      const { withdrawalId, amount, target, scheduledTime, at } = event.data;
      return {
        ...next,
        withdrawals: state.withdrawals.set(withdrawalId, {
          id: withdrawalId,
          amount: minor(amount),
          target,
          scheduledTime,
          status: 'PENDING',
          attempts: 0,
          requestedAttempt: 0,
          nextAttemptAt: null,
          outcomeUnknown: false,
          awaitingSettlement: false,
          conflict: null,
          errorMessage: '',
          createdAt: at,
          updatedAt: at,
        }),
        idempotency: remember(state.idempotency, event.data, revision),
      };
    }
    case 'WithdrawalStarted':
      return {
        ...withWithdrawal(next, event.data.withdrawalId),
        balance: state.balance - minor(event.data.amount),
      };
    case 'WithdrawalFailed':
      return {
        ...withWithdrawal(next, event.data.withdrawalId),
        balance: state.balance + minor(event.data.refunded),
      };
    case 'WithdrawalCancelled':
      return {
        ...withWithdrawal(next, event.data.withdrawalId),
        idempotency: remember(state.idempotency, event.data, revision),
      };
    case 'WithdrawalPayoutRequested':
    case 'WithdrawalAttemptFailed':
    case 'WithdrawalSucceeded':
    case 'WithdrawalAwaitingSettlement':
    case 'WithdrawalOutcomeConflict':
      return withWithdrawal(next, event.data.withdrawalId);
    case 'TransferReceived': {
      const { withdrawalId, fromWalletId, amount, scheduledTime, at } = event.data;
      const received = minor(amount);
      return {
        ...next,
        balance: state.balance + received,
        incoming: state.incoming.set(withdrawalId, {
          withdrawalId,
          fromWalletId,
          amount: received,
          scheduledTime,
          at,
        }),
      };
    }
    default:
      return unhandled(event);
  }
}

/** Folds events from the initial state (or from `state`). */
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
  if (seen.requestHash !== idempotency.requestHash) throw new IdempotencyKeyReused(idempotency.key);
  return true;
}

function stamp(idempotency: Idempotency | undefined): IdempotencyStamp {
  return idempotency
    ? { idempotencyKey: idempotency.key, requestHash: idempotency.requestHash }
    : {};
}

function remember(
  keys: ImmutableMap<string, IdempotencyRecord>,
  data: IdempotencyStamp,
  revision: bigint,
): ImmutableMap<string, IdempotencyRecord> {
  return data.idempotencyKey && data.requestHash
    ? keys.set(data.idempotencyKey, { requestHash: data.requestHash, revision })
    : keys;
}

function validAmount(input: string | number, currency: string): bigint {
  const result = parseAmount(input, currency);
  if (!result.ok) throw new InvalidAmount(result.problems, currency);
  return result.minor;
}

function findWithdrawal(state: Wallet, id: string): Withdrawal {
  const withdrawal = state.withdrawals.get(id);
  if (!withdrawal) throw new WithdrawalNotFound(id);
  return withdrawal;
}
