import type pg from 'pg';
import type { Scope } from '../principal.ts';
import { KEY_COLUMNS, type KeyRecord, type KeyRow, toKeyRecord } from './keyRecord.ts';

export interface NewKey {
  readonly id: string;
  readonly hash: Buffer;
  readonly kind: 'owner' | 'operator';
  readonly owner: string | null;
  readonly name: string;
  readonly scopes: readonly Scope[];
}

/** Stores a key; undefined when a key with this hash exists already (a repeated bootstrap). */
export async function insertKey(
  db: Pick<pg.Pool, 'query'>,
  key: NewKey,
): Promise<KeyRecord | undefined> {
  const { rows } = await db.query<KeyRow>(
    `insert into access.api_keys (key_id, key_hash, kind, owner, name, scopes)
     values ($1, $2, $3, $4, $5, $6)
     on conflict (key_hash) do nothing
     returning ${KEY_COLUMNS}`,
    [key.id, key.hash, key.kind, key.owner, key.name, key.scopes],
  );
  return rows[0] && toKeyRecord(rows[0]);
}
