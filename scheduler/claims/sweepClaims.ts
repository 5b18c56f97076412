import type pg from 'pg';
import { LIVE_SCHEMA } from '../../projections/readModelSchema.ts';
import { SCHEDULER_SCHEMA } from './schema.ts';

/** Removes claims of withdrawals no longer on the due list, once nobody holds them. */
export async function sweepClaims(pool: pg.Pool, now: Date): Promise<number> {
  const { rowCount } = await pool.query({
    name: 'scheduler-sweep-claims',
    text: `delete from ${SCHEDULER_SCHEMA}.claims c
           where (c.leased_until is null or c.leased_until <= $1)
             and (c.not_before is null or c.not_before <= $1)
             and not exists (select 1 from ${LIVE_SCHEMA}.due_withdrawals d
                             where d.withdrawal_id = c.withdrawal_id)`,
    values: [now],
  });
  return rowCount ?? 0;
}
