// Claims due withdrawals: rows of the projector's due list that are due, not leased and not held
// back. Claim rows are made for newly due withdrawals, then taken with FOR UPDATE SKIP LOCKED (so
// several schedulers never wait on each other) and leased under a token of their own.
import type pg from 'pg';
import { LIVE_SCHEMA } from '../../projections/readModelSchema.ts';
import { SCHEDULER_SCHEMA } from './schema.ts';

export interface Claim {
  readonly withdrawalId: string;
  readonly walletId: string;
  /** This claim's token (`<instance>/<uuid>`), held in `lease` while the claim is valid. */
  readonly lease: string;
}

export async function claimDue(
  pool: pg.Pool,
  {
    now,
    limit,
    leaseMs,
    instance,
  }: { now: Date; limit: number; leaseMs: number; instance: string },
): Promise<Claim[]> {
  if (limit <= 0) return [];
  await pool.query({
    name: 'scheduler-add-claims',
    text: `insert into ${SCHEDULER_SCHEMA}.claims (withdrawal_id, wallet_id)
           select d.withdrawal_id, d.wallet_id from ${LIVE_SCHEMA}.due_withdrawals d
           where d.due_at <= $1
             and not exists (select 1 from ${SCHEDULER_SCHEMA}.claims c
                             where c.withdrawal_id = d.withdrawal_id)
           on conflict do nothing`,
    values: [now],
  });
  const { rows } = await pool.query({
    name: 'scheduler-claim-due',
    text: `update ${SCHEDULER_SCHEMA}.claims c
           set lease = $4 || '/' || gen_random_uuid(),
               leased_until = $1::timestamptz + $3 * interval '1 millisecond',
               not_before = null
           from (select c.withdrawal_id
                 from ${SCHEDULER_SCHEMA}.claims c
                 join ${LIVE_SCHEMA}.due_withdrawals d on d.withdrawal_id = c.withdrawal_id
                 where d.due_at <= $1
                   and (c.leased_until is null or c.leased_until <= $1)
                   and (c.not_before is null or c.not_before <= $1)
                 order by d.due_at
                 limit $2
                 for update of c skip locked) due
           where c.withdrawal_id = due.withdrawal_id
           returning c.withdrawal_id, c.wallet_id, c.lease`,
    values: [now, limit, leaseMs, instance],
  });
  return rows.map((r) => ({
    withdrawalId: r.withdrawal_id,
    walletId: r.wallet_id,
    lease: r.lease,
  }));
}
