import type pg from 'pg';
import { LIVE_SCHEMA } from '../../projections/readModelSchema.ts';
import { SCHEDULER_SCHEMA } from './schema.ts';

/** When the next unclaimed withdrawal falls due, and how many are due now (the backlog). */
export async function dueSummary(
  pool: pg.Pool,
  now: Date,
): Promise<{ nextDueAt: Date | null; backlog: number }> {
  const { rows } = await pool.query({
    name: 'scheduler-due-summary',
    text: `select min(greatest(d.due_at, coalesce(c.not_before, d.due_at))) as next,
                  (count(*) filter (where d.due_at <= $1
                                      and (c.not_before is null or c.not_before <= $1)))::int
                    as backlog
           from ${LIVE_SCHEMA}.due_withdrawals d
           left join ${SCHEDULER_SCHEMA}.claims c on c.withdrawal_id = d.withdrawal_id
           where c.leased_until is null or c.leased_until <= $1`,
    values: [now],
  });
  return { nextDueAt: rows[0]?.next ?? null, backlog: rows[0]?.backlog ?? 0 };
}
