import type pg from 'pg';
import { KEY_COLUMNS, type KeyRecord, type KeyRow, toKeyRecord } from './keyRecord.ts';

/** The key with this hash, revoked or not (the caller refuses a revoked one). */
export async function findKeyByHash(
  db: Pick<pg.Pool, 'query'>,
  hash: Buffer,
): Promise<KeyRecord | undefined> {
  const { rows } = await db.query<KeyRow>({
    name: 'access-find-key-by-hash',
    text: `select ${KEY_COLUMNS} from access.api_keys where key_hash = $1`,
    values: [hash],
  });
  return rows[0] && toKeyRecord(rows[0]);
}
