// The wallet stream's events: past tense, data only, JSON. Amounts are decimal strings in the
// wallet's currency (exact, and still right if a currency table ever changes); times are ISO 8601.
// Every event carries `at`, the moment it happened, so replays never depend on the store's clock.
// The README's event catalogue describes each one; keep the two in step.

/** Remembered with the event a keyed command produced, so a retry gets the same answer. */
export interface IdempotencyStamp {
  readonly idempotencyKey?: string;
  /** sha256 of the request's canonical body: the same key with another body is a conflict. */
  readonly requestHash?: string;
}

export type AttemptOutcome = 'failed' | 'unknown';

/** An operator ended the withdrawal (`settle`); `forced`: despite an outstanding request. */
export interface Settlement {
  readonly operator: string;
  readonly forced: boolean;
}

/** A definite verdict of the third party, from a payout answer or its status lookup. */
export type ReportedVerdict = 'paid' | 'refused' | 'not_paid';

export type WalletEvent =
  | {
      type: 'WalletCreated';
      data: {
        walletId: string;
        currency: string;
        owner: string | null;
        at: string;
      } & IdempotencyStamp;
    }
  | {
      type: 'Deposited';
      data: { depositId: string; amount: string; at: string } & IdempotencyStamp;
    }
  | {
      type: 'WithdrawalScheduled';
      data: {
        withdrawalId: string;
        amount: string;
        /** Wallet credited on success; null pays out to the owner's external account. */
        target: string | null;
        scheduledTime: string;
        at: string;
      } & IdempotencyStamp;
    }
  | {
      type: 'WithdrawalStarted';
      data: { withdrawalId: string; amount: string; at: string };
    }
  | {
      /**
       * A payout request is about to go out for this attempt. Until the attempt's outcome is
       * recorded, whether it was paid is unknown: a crash here is settled by the status lookup.
       */
      type: 'WithdrawalPayoutRequested';
      data: { withdrawalId: string; attempt: number; at: string };
    }
  | {
      type: 'WithdrawalAttemptFailed';
      data: {
        withdrawalId: string;
        attempt: number;
        reason: string;
        /**
         * `failed`: certainly not paid. `unknown`: maybe paid (no answer, or an answer that does
         * not say): only the third party's status lookup may settle it, the request is not resent.
         */
        outcome: AttemptOutcome;
        nextAttemptAt: string;
        at: string;
      };
    }
  | {
      type: 'WithdrawalSucceeded';
      data: { withdrawalId: string; attempt: number; at: string; settledBy?: Settlement };
    }
  | {
      type: 'WithdrawalFailed';
      /** `refunded` is what `WithdrawalStarted` took and now goes back ("0.00" if it never started). */
      data: {
        withdrawalId: string;
        reason: string;
        refunded: string;
        at: string;
        settledBy?: Settlement;
      };
    }
  | {
      /**
       * The third party cannot tell whether the outstanding request was paid (it has no status
       * lookup, or the lookup fails): the money stays out, the scheduler asks again from
       * `nextCheckAt` on, and an operator may settle it from the bank's own records.
       */
      type: 'WithdrawalAwaitingSettlement';
      data: {
        withdrawalId: string;
        attempt: number;
        reason: string;
        nextCheckAt: string;
        at: string;
      };
    }
  | {
      /**
       * The third party's verdict arrived for a withdrawal that had already ended the other way
       * (paid after a refund, or refused after a success). Nothing is undone: `amount` is owed
       * back by the wallet's owner (`reported: 'paid'`) or to the owner (otherwise), for an
       * operator to sort out.
       */
      type: 'WithdrawalOutcomeConflict';
      data: {
        withdrawalId: string;
        recorded: 'SUCCESS' | 'FAILED';
        reported: ReportedVerdict;
        amount: string;
        reason: string;
        at: string;
      };
    }
  | { type: 'WithdrawalCancelled'; data: { withdrawalId: string; at: string } & IdempotencyStamp }
  | {
      type: 'TransferReceived';
      data: {
        withdrawalId: string;
        fromWalletId: string;
        amount: string;
        scheduledTime: string;
        at: string;
      };
    };

export type WalletEventType = WalletEvent['type'];

// A record over the union, so a new event type fails the build until it is listed here.
const EVENT_TYPES: Record<WalletEventType, true> = {
  WalletCreated: true,
  Deposited: true,
  WithdrawalScheduled: true,
  WithdrawalStarted: true,
  WithdrawalPayoutRequested: true,
  WithdrawalAttemptFailed: true,
  WithdrawalSucceeded: true,
  WithdrawalFailed: true,
  WithdrawalAwaitingSettlement: true,
  WithdrawalOutcomeConflict: true,
  WithdrawalCancelled: true,
  TransferReceived: true,
};

export const WALLET_EVENT_TYPES = Object.keys(EVENT_TYPES) as readonly WalletEventType[];

export const isWalletEventType = (type: string): type is WalletEventType =>
  Object.hasOwn(EVENT_TYPES, type);

/** For exhaustive switches over the event union: a new event type fails the build there. */
export function unhandled(event: never): never {
  throw new Error(`Unhandled event ${JSON.stringify(event)}`);
}

export const walletStreamId = (walletId: string): string => `wallet-${walletId}`;
export const WALLET_STREAM_PREFIX = 'wallet-';
