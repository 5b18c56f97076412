import type pg from 'pg';
import type { Claim } from './claimDue.ts';
import { SCHEDULER_SCHEMA } from './schema.ts';

/**
 * Lets a claim go, holding the row back until `notBefore` (when its next step is due, or a little
 * while after it finished, until the projector has taken it off the due list). A claim that is no
 * longer valid changes nothing.
 */
export async function releaseClaim(pool: pg.Pool, claim: Claim, notBefore: Date): Promise<void> {
  await pool.query({
    name: 'scheduler-release-claim',
    text: `update ${SCHEDULER_SCHEMA}.claims set lease = null, leased_until = null, not_before = $3
           where withdrawal_id = $1 and lease = $2`,
    values: [claim.withdrawalId, claim.lease, notBefore],
  });
}
