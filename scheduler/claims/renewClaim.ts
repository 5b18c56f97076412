import type pg from 'pg';
import type { Claim } from './claimDue.ts';
import { SCHEDULER_SCHEMA } from './schema.ts';

/**
 * Renews a claim for another `leaseMs`; false when it is no longer valid (it ran out and the row
 * was claimed again, by another instance or this one): its holder must stop.
 */
export async function renewClaim(
  pool: pg.Pool,
  claim: Claim,
  { now, leaseMs }: { now: Date; leaseMs: number },
): Promise<boolean> {
  const { rowCount } = await pool.query({
    name: 'scheduler-renew-claim',
    text: `update ${SCHEDULER_SCHEMA}.claims
           set leased_until = $3::timestamptz + $4 * interval '1 millisecond'
           where withdrawal_id = $1 and lease = $2`,
    values: [claim.withdrawalId, claim.lease, now, leaseMs],
  });
  return rowCount === 1;
}
