import type pg from 'pg';
import { KEY_COLUMNS, type KeyRecord, type KeyRow, toKeyRecord } from './keyRecord.ts';

/** Revokes a key (once: a revoked key keeps its first revocation time); undefined if unknown. */
export async function revokeKey(
  db: Pick<pg.Pool, 'query'>,
  id: string,
): Promise<KeyRecord | undefined> {
  const { rows } = await db.query<KeyRow>(
    `update access.api_keys set revoked_at = coalesce(revoked_at, now())
     where key_id = $1 returning ${KEY_COLUMNS}`,
    [id],
  );
  return rows[0] && toKeyRecord(rows[0]);
}
