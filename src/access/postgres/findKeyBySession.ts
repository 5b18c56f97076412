import type pg from 'pg';
import { KEY_COLUMNS, type KeyRecord, type KeyRow, toKeyRecord } from './keyRecord.ts';

/** The key of an unexpired session with this hash (revoked or not: the caller refuses that). */
export async function findKeyBySession(
  db: Pick<pg.Pool, 'query'>,
  hash: Buffer,
): Promise<KeyRecord | undefined> {
  const { rows } = await db.query<KeyRow>({
    name: 'access-find-key-by-session',
    text: `select ${KEY_COLUMNS.split(', ')
      .map((column) => `k.${column}`)
      .join(', ')}
           from access.sessions s join access.api_keys k on k.key_id = s.key_id
           where s.session_hash = $1 and s.expires_at > now()`,
    values: [hash],
  });
  return rows[0] && toKeyRecord(rows[0]);
}
