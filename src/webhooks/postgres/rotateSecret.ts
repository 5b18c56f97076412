import type pg from 'pg';
import { type EndpointRecord, type OwnerScope, updateVisibleEndpoint } from './endpointRecord.ts';

/**
 * A new signing secret; the one it replaces keeps signing beside it for `overlapMs` (a second
 * rotation within that time drops the oldest).
 */
export function rotateSecret(
  db: Pick<pg.Pool, 'query'>,
  id: string,
  scope: OwnerScope,
  { secret, overlapMs }: { secret: string; overlapMs: number },
): Promise<EndpointRecord | undefined> {
  return updateVisibleEndpoint(db, id, scope, {
    name: 'webhooks-rotate-secret',
    set: `previous_secret = secret,
          previous_secret_until = now() + $4 * interval '1 millisecond',
          secret = $3`,
    values: [secret, overlapMs],
  });
}
