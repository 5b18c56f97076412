import type pg from 'pg';
import { type EndpointRecord, type OwnerScope, selectEndpoints } from './endpointRecord.ts';

/** The registrations a caller may see (an owner's own, or every one), oldest first. */
export function listEndpoints(
  db: Pick<pg.Pool, 'query'>,
  scope: OwnerScope,
): Promise<EndpointRecord[]> {
  return selectEndpoints(db, {
    name: 'webhooks-list-endpoints',
    where: `deleted_at is null and ($1::text is null or owner = $1)
            order by created_at, endpoint_id`,
    values: [scope?.owner ?? null],
  });
}
