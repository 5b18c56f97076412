import type { Transfer, VerdictStatus } from '../bank.ts';

/** The columns `toTransfer` reads, for `from transaction_service.transfers t`. */
export const TRANSFER_COLUMNS = `
  t.key, t.status, t.amount, t.currency, t.target, t.wallet, t.decided_at, t.reason,
  case when t.key is null then 1
       else coalesce((select a.attempts from transaction_service.attempts a where a.key = t.key), 0)
  end as attempts`;

export interface TransferRow {
  key: string | null;
  status: VerdictStatus;
  amount: string | null;
  currency: string | null;
  target: string | null;
  wallet: string | null;
  decided_at: Date;
  reason: string | null;
  attempts: number;
}

/** A row as the protocol shows it: absent details left out, as the memory books do. */
export function toTransfer(row: TransferRow): Transfer {
  const transfer: Transfer = { key: row.key, status: row.status, attempts: row.attempts };
  for (const field of ['amount', 'currency', 'target', 'wallet'] as const) {
    const value = row[field];
    if (value !== null) transfer[field] = value;
  }
  const at = row.decided_at.toISOString();
  if (row.status === 'paid') transfer.paidAt = at;
  else {
    transfer.refusedAt = at;
    transfer.reason = row.reason ?? '';
  }
  return transfer;
}
