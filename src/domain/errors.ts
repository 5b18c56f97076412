// What the domain refuses, as types that carry their meaning. The API maps each one to a status
// code and the original service's messages in one place (src/api/errors.ts); the CLI prints them.
import type { AmountProblem } from './money.ts';

export abstract class DomainError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The command names a wallet whose stream holds no `WalletCreated`. */
export class WalletNotFound extends DomainError {
  constructor() {
    super('No such wallet.');
  }
}

export class WalletAlreadyExists extends DomainError {
  constructor(readonly walletId: string) {
    super(`Wallet ${walletId} already exists.`);
  }
}

export class WithdrawalNotFound extends DomainError {
  constructor(readonly withdrawalId: string) {
    super(`No withdrawal ${withdrawalId} in this wallet.`);
  }
}

export class InvalidCurrency extends DomainError {
  constructor(readonly currency: string) {
    super(`"${currency}" is not an ISO 4217 currency code.`);
  }
}

export class InvalidAmount extends DomainError {
  constructor(
    readonly problems: readonly AmountProblem[],
    readonly currency: string,
  ) {
    super(`Invalid amount: ${problems.map((p) => p.kind).join(', ')}.`);
  }
}

export type ScheduleProblem = 'not_a_time' | 'not_in_future' | 'too_far_ahead';

export class InvalidScheduledTime extends DomainError {
  constructor(readonly problem: ScheduleProblem) {
    super(`Invalid scheduled time: ${problem}.`);
  }
}

export type TargetProblem =
  | { readonly kind: 'not_found' }
  | { readonly kind: 'same_wallet' }
  | { readonly kind: 'other_currency'; readonly targetCurrency: string; readonly currency: string };

export class InvalidTarget extends DomainError {
  constructor(
    readonly targetId: string,
    readonly problem: TargetProblem,
  ) {
    super(`Invalid target ${targetId}: ${problem.kind}.`);
  }
}

export class IdempotencyKeyReused extends DomainError {
  constructor(readonly key: string) {
    super('This Idempotency-Key was already used with a different request.');
  }
}

export class WithdrawalNotCancellable extends DomainError {
  constructor(
    readonly withdrawalId: string,
    readonly status: string,
  ) {
    super(`Withdrawal ${withdrawalId} is ${status} and can no longer be cancelled.`);
  }
}

/**
 * Why an operator may not settle a withdrawal now: it has not started, it has ended, or a payout
 * request is outstanding whose outcome the third party can still tell (settling then could
 * refund money that is being paid out).
 */
export type SettlementProblem = 'not_started' | 'ended' | 'outcome_pending' | 'claimed';

export class WithdrawalNotSettleable extends DomainError {
  constructor(
    readonly withdrawalId: string,
    readonly status: string,
    readonly problem: SettlementProblem,
  ) {
    super(
      problem === 'outcome_pending'
        ? `Withdrawal ${withdrawalId} has a payout request outstanding whose outcome the third party can still tell; wait for the scheduler, or settle with --force if the bank confirmed it by other means.`
        : problem === 'claimed'
          ? `Withdrawal ${withdrawalId} is being worked on by a scheduler right now; try again shortly, or settle with --force.`
          : `Withdrawal ${withdrawalId} is ${status}: only a PROCESSING one can be settled.`,
    );
  }
}
