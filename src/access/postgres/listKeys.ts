import type pg from 'pg';
import { KEY_COLUMNS, type KeyRecord, type KeyRow, toKeyRecord } from './keyRecord.ts';

/** Every key, oldest first, revoked ones included (they show when they were revoked). */
export async function listKeys(db: Pick<pg.Pool, 'query'>): Promise<KeyRecord[]> {
  const { rows } = await db.query<KeyRow>(
    `select ${KEY_COLUMNS} from access.api_keys order by created_at, key_id`,
  );
  return rows.map(toKeyRecord);
}
