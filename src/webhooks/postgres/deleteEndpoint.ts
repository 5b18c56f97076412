import type pg from 'pg';
import { ENDPOINTS, type OwnerScope } from './endpointRecord.ts';

/**
 * Deletes a registration: kept as a tombstone without its secrets (so the notify role stops and
 * drops its deliveries); false when there was none to delete.
 */
export async function deleteEndpoint(
  db: Pick<pg.Pool, 'query'>,
  id: string,
  scope: OwnerScope,
): Promise<boolean> {
  const { rowCount } = await db.query({
    name: 'webhooks-delete-endpoint',
    text: `update ${ENDPOINTS}
           set deleted_at = now(), updated_at = now(), enabled = false, secret = null,
               previous_secret = null, previous_secret_until = null
           where endpoint_id = $1 and deleted_at is null and ($2::text is null or owner = $2)`,
    values: [id, scope?.owner ?? null],
  });
  return rowCount === 1;
}
