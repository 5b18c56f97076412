import type pg from 'pg';
import type { Transfer } from '../bank.ts';
import { TRANSFER_COLUMNS, type TransferRow, toTransfer } from './transferRow.ts';

/** The verdict recorded for a key, if any. */
export async function findVerdict(pool: pg.Pool, key: string): Promise<Transfer | undefined> {
  const { rows } = await pool.query<TransferRow>(
    `select ${TRANSFER_COLUMNS} from transaction_service.transfers t where t.key = $1`,
    [key],
  );
  return rows[0] && toTransfer(rows[0]);
}
