import type pg from 'pg';
import { NOTIFY_SCHEMA } from '../schema.ts';
import type { LaneClaim } from './claimLanes.ts';

/** Lets a claim go (its head's due time stays as recorded); a claim no longer valid changes nothing. */
export async function releaseLane(pool: Pick<pg.Pool, 'query'>, claim: LaneClaim): Promise<void> {
  await pool.query({
    name: 'notify-release-lane',
    text: `update ${NOTIFY_SCHEMA}.lanes set lease = null, leased_until = null
           where endpoint_id = $1 and wallet_id = $2 and lease = $3`,
    values: [claim.endpointId, claim.walletId, claim.lease],
  });
}
