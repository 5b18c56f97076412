// The scheduler's to-do list is the `due_withdrawals` read model. Claims take rows that are due and
// not leased, skipping rows another instance is claiming right now (FOR UPDATE SKIP LOCKED), and
// lease them for a while: a crashed instance's claims come back when their lease runs out. Each
// claim has a token of its own, so an old claim on a row claimed again (by another instance, or
// by this one after the lease ran out) can no longer renew or move the lease: it stops.
import type pg from 'pg';
import { LIVE_SCHEMA } from '../projections/readModelSchema.ts';
import type { DueStep } from '../projections/walletProjection.ts';

export interface Claim {
  readonly withdrawalId: string;
  readonly walletId: string;
  readonly step: DueStep;
  readonly dueAt: Date;
  /** This claim's token (`<owner>/<uuid>`), held in `leased_by` while the claim is valid. */
  readonly lease: string;
}

export async function claimDueWithdrawals(
  pool: pg.Pool,
  { now, limit, leaseMs, owner }: { now: Date; limit: number; leaseMs: number; owner: string },
): Promise<Claim[]> {
  if (limit <= 0) return [];
  const { rows } = await pool.query({
    name: 'claim-due-withdrawals',
    text: `with due as (
             select withdrawal_id from ${LIVE_SCHEMA}.due_withdrawals
             where due_at <= $1 and (leased_until is null or leased_until <= $1)
             order by due_at
             limit $2
             for update skip locked
           )
           update ${LIVE_SCHEMA}.due_withdrawals d
           set leased_until = $1::timestamptz + $3 * interval '1 millisecond',
               leased_by = $4 || '/' || gen_random_uuid()
           from due where d.withdrawal_id = due.withdrawal_id
           returning d.withdrawal_id, d.wallet_id, d.step, d.due_at, d.leased_by`,
    values: [now, limit, leaseMs, owner],
  });
  return rows.map((r) => ({
    withdrawalId: r.withdrawal_id,
    walletId: r.wallet_id,
    step: r.step,
    dueAt: r.due_at,
    lease: r.leased_by,
  }));
}

/**
 * Renews a claim for another `leaseMs`; false when the claim is no longer valid (it ran out and the
 * row was claimed again, or the row is gone).
 */
export async function renewLease(
  pool: pg.Pool,
  {
    withdrawalId,
    lease,
    now,
    leaseMs,
  }: { withdrawalId: string; lease: string; now: Date; leaseMs: number },
): Promise<boolean> {
  const { rowCount } = await pool.query({
    name: 'renew-lease',
    text: `update ${LIVE_SCHEMA}.due_withdrawals
           set leased_until = $3::timestamptz + $4 * interval '1 millisecond'
           where withdrawal_id = $1 and leased_by = $2`,
    values: [withdrawalId, lease, now, leaseMs],
  });
  return rowCount === 1;
}

/**
 * Moves a claim's lease on a row: to when its next step is due, or a short while ahead when
 * it is finished and the projector is about to remove the row.
 */
export async function extendLease(
  pool: pg.Pool,
  { withdrawalId, lease, until }: { withdrawalId: string; lease: string; until: Date },
): Promise<void> {
  await pool.query({
    name: 'extend-lease',
    text: `update ${LIVE_SCHEMA}.due_withdrawals set leased_until = $3
           where withdrawal_id = $1 and leased_by = $2`,
    values: [withdrawalId, lease, until],
  });
}

/** When the next unleased row falls due, and how many are due now (the backlog). */
export async function readDueSummary(
  pool: pg.Pool,
  now: Date,
): Promise<{ nextDueAt: Date | null; backlog: number }> {
  const { rows } = await pool.query({
    name: 'due-summary',
    text: `select min(due_at) as next, count(*) filter (where due_at <= $1)::int as backlog
           from ${LIVE_SCHEMA}.due_withdrawals
           where leased_until is null or leased_until <= $1`,
    values: [now],
  });
  return { nextDueAt: rows[0]?.next ?? null, backlog: rows[0]?.backlog ?? 0 };
}
