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
  | { type: 'WithdrawalSucceeded'; data: { withdrawalId: string; attempt: number; at: string } }
  | {
      type: 'WithdrawalFailed';
      /** `refunded` is what `WithdrawalStarted` took and now goes back ("0.00" if it never started). */
      data: { withdrawalId: string; reason: string; refunded: string; at: string };
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

export const WALLET_EVENT_TYPES: readonly WalletEventType[] = [
  'WalletCreated',
  'Deposited',
  'WithdrawalScheduled',
  'WithdrawalStarted',
  'WithdrawalPayoutRequested',
  'WithdrawalAttemptFailed',
  'WithdrawalSucceeded',
  'WithdrawalFailed',
  'WithdrawalCancelled',
  'TransferReceived',
];

export const walletStreamId = (walletId: string): string => `wallet-${walletId}`;
export const WALLET_STREAM_PREFIX = 'wallet-';
