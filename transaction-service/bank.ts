// The transaction service's books: what was paid or refused per Idempotency-Key. In memory only,
// on purpose: this is a stand-in for a bank in development and tests, and a restart forgets
// everything (a real bank would not).
import { createKeyedMutex } from '../src/infra/keyedMutex.ts';

/** What a payout request said about itself, as received (text; money is never parsed here). */
export interface PayoutDetails {
  amount?: string;
  currency?: string;
  target?: string;
  wallet?: string;
}

export interface Transfer extends PayoutDetails {
  /** The Idempotency-Key, or null for a request that had none (each such request is its own). */
  key: string | null;
  status: 'paid' | 'refused';
  paidAt?: string;
  refusedAt?: string;
  reason?: string;
  /** Requests received with this key so far, whatever their outcome (1 without a key). */
  attempts: number;
}

type Recorded = Omit<Transfer, 'attempts'>;

const DETAIL_FIELDS = ['amount', 'currency', 'target', 'wallet'] as const;

export function createBank(clock: () => Date = () => new Date()) {
  const verdicts = new Map<string, Recorded>();
  const attempts = new Map<string, number>();
  const payouts: Recorded[] = [];

  const withAttempts = (transfer: Recorded): Transfer => ({
    ...transfer,
    attempts: transfer.key === null ? 1 : (attempts.get(transfer.key) ?? 0),
  });

  return {
    countAttempt(key: string): void {
      attempts.set(key, (attempts.get(key) ?? 0) + 1);
    },

    /** The recorded verdict for a key: paid or refused; undefined if neither (yet). */
    findVerdict(key: string): Transfer | undefined {
      const transfer = verdicts.get(key);
      return transfer && withAttempts(transfer);
    },

    recordPayout(key: string | null, details: PayoutDetails): Transfer {
      const transfer: Recorded = { key, status: 'paid', ...details, paidAt: clock().toISOString() };
      if (key !== null) verdicts.set(key, transfer);
      payouts.push(transfer);
      return withAttempts(transfer);
    },

    recordRefusal(key: string | null, details: PayoutDetails, reason: string): Transfer {
      const transfer: Recorded = {
        key,
        status: 'refused',
        ...details,
        refusedAt: clock().toISOString(),
        reason,
      };
      if (key !== null) verdicts.set(key, transfer);
      return withAttempts(transfer);
    },

    /** Every payout in the order it was made, keyless ones included. */
    listPayouts(): Transfer[] {
      return payouts.map(withAttempts);
    },

    /**
     * Runs tasks one at a time per key, in arrival order. A payout attempt holds its key for its
     * whole processing time, so a second request with the same key (or a status lookup) waits and
     * then sees the first one's verdict instead of paying again or answering "not found" early.
     */
    runExclusive: createKeyedMutex(),
  };
}

export type Bank = ReturnType<typeof createBank>;

/**
 * Reads amount, currency, target and wallet from a request body of any kind: a JSON object, a
 * form-encoded body (the original client posted `data=`), or anything else (nothing recorded).
 * A JSON number is recorded as its literal text from the body, never through a float.
 */
export function readPayoutDetails(body: Buffer | undefined): PayoutDetails {
  const text = body?.toString('utf8').trim() ?? '';
  const details: PayoutDetails = {};
  if (text === '') return details;
  if (text.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return details;
    }
    if (typeof parsed !== 'object' || parsed === null) return details;
    for (const field of DETAIL_FIELDS) {
      const value = (parsed as Record<string, unknown>)[field];
      if (typeof value === 'string') details[field] = value;
      else if (typeof value === 'number') details[field] = readNumberLiteral(text, field);
    }
    return details;
  }
  const form = new URLSearchParams(text);
  for (const field of DETAIL_FIELDS) {
    const value = form.get(field);
    if (value !== null) details[field] = value;
  }
  return details;
}

/** The literal text of a top-level JSON number field (the first occurrence of the name). */
function readNumberLiteral(json: string, field: string): string | undefined {
  const match = new RegExp(`"${field}"\\s*:\\s*(-?\\d+(?:\\.\\d+)?(?:[eE][+-]?\\d+)?)`).exec(json);
  return match?.[1];
}
