import type pg from 'pg';
import { SCHEDULER_SCHEMA } from './schema.ts';

/** Whether a scheduler holds a live claim on the withdrawal now (it may be mid-payout). */
export async function isClaimed(pool: pg.Pool, withdrawalId: string): Promise<boolean> {
  try {
    const { rows } = await pool.query({
      name: 'scheduler-is-claimed',
      text: `select 1 from ${SCHEDULER_SCHEMA}.claims
             where withdrawal_id = $1 and lease is not null and leased_until > now()`,
      values: [withdrawalId],
    });
    return rows.length > 0;
  } catch (error) {
    if ((error as { code?: string }).code === '42P01') return false; // no scheduler ran yet
    throw error;
  }
}
