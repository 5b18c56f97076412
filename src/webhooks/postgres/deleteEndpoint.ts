import type pg from 'pg';
import { type OwnerScope, updateVisibleEndpoint } from './endpointRecord.ts';

/**
 * Deletes a registration: kept as a tombstone without its secrets (so the notify role stops and
 * drops its deliveries); false when there was none to delete.
 */
export async function deleteEndpoint(
  db: Pick<pg.Pool, 'query'>,
  id: string,
  scope: OwnerScope,
): Promise<boolean> {
  const deleted = await updateVisibleEndpoint(db, id, scope, {
    name: 'webhooks-delete-endpoint',
    set: `deleted_at = now(), enabled = false, secret = null, previous_secret = null,
          previous_secret_until = null`,
  });
  return deleted !== undefined;
}
