import type pg from 'pg';
import { WEBHOOKS_SCHEMA } from './migrations.ts';

/** Requests older than this were applied long ago (or their delivery is gone): dropped. */
const KEEP_DAYS = 30;

/** Asks the notify role to attempt a delivery again now; when the request was made. */
export async function requestRetry(
  db: Pick<pg.Pool, 'query'>,
  { deliveryId, endpointId }: { deliveryId: string; endpointId: string },
): Promise<Date> {
  const { rows } = await db.query<{ requested_at: Date }>({
    name: 'webhooks-request-retry',
    text: `with old as (
             delete from ${WEBHOOKS_SCHEMA}.retry_requests
             where requested_at < now() - ${KEEP_DAYS} * interval '1 day'
           )
           insert into ${WEBHOOKS_SCHEMA}.retry_requests (delivery_id, endpoint_id, requested_at)
           values ($1, $2, clock_timestamp())
           on conflict (delivery_id) do update set requested_at = excluded.requested_at
           returning requested_at`,
    values: [deliveryId, endpointId],
  });
  return rows[0]?.requested_at as Date;
}
