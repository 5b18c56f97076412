// The transaction service's books: what was paid or refused per Idempotency-Key, and how many
// requests each key brought. Two keepers with one behaviour: PostgreSQL (postgresBank/, what
// `npm start` and docker compose use: a restart finds every verdict, and several instances on one
// database never pay a key twice) and memory (the service started on its own without a database,
// and tests of the protocol: a restart forgets everything, which its start line says).

/** What a payout request said about itself, as received (text; money is never parsed here). */
export interface PayoutDetails {
  amount?: string;
  currency?: string;
  target?: string;
  wallet?: string;
}

export type VerdictStatus = 'paid' | 'refused';

export interface Transfer extends PayoutDetails {
  /** The Idempotency-Key, or null for a request that had none (each such request is its own). */
  key: string | null;
  status: VerdictStatus;
  paidAt?: string;
  refusedAt?: string;
  reason?: string;
  /** Requests received with this key so far, whatever their outcome (1 without a key). */
  attempts: number;
}

export interface Verdict {
  readonly status: VerdictStatus;
  readonly details: PayoutDetails;
  readonly at: Date;
  /** Why a refusal was made (refusals only). */
  readonly reason?: string;
}

export interface Bank {
  /** Where the books are kept, for the start line. */
  readonly keptIn: string;
  countAttempt(key: string): Promise<void>;
  /** The recorded verdict for a key: paid or refused; undefined if neither (yet). */
  findVerdict(key: string): Promise<Transfer | undefined>;
  /**
   * Records a verdict. A key that already has one keeps it (whoever decided it, in whichever
   * process): the answer is then that verdict, `replayed`. A request without a key is always new.
   */
  recordVerdict(
    key: string | null,
    verdict: Verdict,
  ): Promise<{ status: VerdictStatus; replayed: boolean }>;
  /** Every payout in the order it was made, keyless ones included. */
  listPayouts(): Promise<Transfer[]>;
  close(): Promise<void>;
}

type Recorded = Omit<Transfer, 'attempts'>;

/** A verdict as the books show it: `paidAt` or `refusedAt` (+ `reason`), absent fields left out. */
export function toRecorded(key: string | null, verdict: Verdict): Recorded {
  const at = verdict.at.toISOString();
  return verdict.status === 'paid'
    ? { key, status: 'paid', ...verdict.details, paidAt: at }
    : { key, status: 'refused', ...verdict.details, refusedAt: at, reason: verdict.reason ?? '' };
}

export function createMemoryBank(): Bank {
  const verdicts = new Map<string, Recorded>();
  const attempts = new Map<string, number>();
  const payouts: Recorded[] = [];

  const withAttempts = (transfer: Recorded): Transfer => ({
    ...transfer,
    attempts: transfer.key === null ? 1 : (attempts.get(transfer.key) ?? 0),
  });

  return {
    keptIn: 'memory: a restart forgets them; set TRANSACTION_SERVICE_DATABASE_URL to keep them',

    async countAttempt(key) {
      attempts.set(key, (attempts.get(key) ?? 0) + 1);
    },

    async findVerdict(key) {
      const transfer = verdicts.get(key);
      return transfer && withAttempts(transfer);
    },

    async recordVerdict(key, verdict) {
      const known = key === null ? undefined : verdicts.get(key);
      if (known) return { status: known.status, replayed: true };
      const transfer = toRecorded(key, verdict);
      if (key !== null) verdicts.set(key, transfer);
      if (transfer.status === 'paid') payouts.push(transfer);
      return { status: transfer.status, replayed: false };
    },

    async listPayouts() {
      return payouts.map(withAttempts);
    },

    async close() {},
  };
}

const DETAIL_FIELDS = ['amount', 'currency', 'target', 'wallet'] as const;

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
