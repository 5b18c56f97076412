// A key as stored (never its secret): the row shape every key query returns.
import type { Scope } from '../principal.ts';

export interface KeyRecord {
  readonly id: string;
  readonly kind: 'owner' | 'operator';
  readonly owner: string | null;
  readonly name: string;
  readonly scopes: readonly Scope[];
  readonly createdAt: Date;
  readonly revokedAt: Date | null;
  readonly lastUsedAt: Date | null;
}

export const KEY_COLUMNS =
  'key_id, kind, owner, name, scopes, created_at, revoked_at, last_used_at';

export interface KeyRow {
  key_id: string;
  kind: 'owner' | 'operator';
  owner: string | null;
  name: string;
  scopes: Scope[];
  created_at: Date;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

export function toKeyRecord(row: KeyRow): KeyRecord {
  return {
    id: row.key_id,
    kind: row.kind,
    owner: row.owner,
    name: row.name,
    scopes: row.scopes,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
  };
}
