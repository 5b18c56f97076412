import type pg from 'pg';
import type { Transfer } from '../bank.ts';
import { TRANSFER_COLUMNS, type TransferRow, toTransfer } from './transferRow.ts';

/** Every payout in the order the books recorded it. */
export async function listPayouts(pool: pg.Pool): Promise<Transfer[]> {
  const { rows } = await pool.query<TransferRow>(
    `select ${TRANSFER_COLUMNS} from transaction_service.transfers t
     where t.status = 'paid' order by t.id`,
  );
  return rows.map(toTransfer);
}
