import type pg from 'pg';
import type { Verdict, VerdictStatus } from '../bank.ts';

/**
 * Inserts a verdict unless its key has one. A concurrent insert of the same key (another request,
 * another process) makes this one wait for it and then insert nothing; the verdict that won is
 * read in a second statement, whose snapshot sees it (the first one's does not).
 */
export async function recordVerdict(
  pool: pg.Pool,
  key: string | null,
  verdict: Verdict,
): Promise<{ status: VerdictStatus; replayed: boolean }> {
  const { details } = verdict;
  const inserted = await pool.query(
    `insert into transaction_service.transfers
       (key, status, amount, currency, target, wallet, decided_at, reason)
     values ($1, $2, $3, $4, $5, $6, $7, $8)
     on conflict (key) do nothing`,
    [
      key,
      verdict.status,
      details.amount ?? null,
      details.currency ?? null,
      details.target ?? null,
      details.wallet ?? null,
      verdict.at,
      verdict.status === 'refused' ? (verdict.reason ?? '') : null,
    ],
  );
  if (inserted.rowCount === 1) return { status: verdict.status, replayed: false };
  const { rows } = await pool.query<{ status: VerdictStatus }>(
    'select status from transaction_service.transfers where key = $1',
    [key],
  );
  const status = rows[0]?.status;
  if (!status) throw new Error(`no verdict for key ${key} after a conflicting insert`);
  return { status, replayed: true };
}
