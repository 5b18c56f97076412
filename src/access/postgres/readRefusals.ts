import type pg from 'pg';
import type { RefusalReason, StoredRefusal } from './refusal.ts';

export interface RefusalQuery {
  /** From this time on (inclusive). */
  readonly from?: Date;
  /** Before this time (exclusive). */
  readonly to?: Date;
  readonly status?: number;
  readonly keyId?: string;
  /** Older than this entry (the previous page's last): newest first, keyset-paged. */
  readonly before?: { readonly at: Date; readonly id: string };
  readonly limit: number;
}

interface Row {
  id: string;
  at: Date;
  key_id: string | null;
  address: string;
  method: string;
  path: string;
  status: number;
  reason: RefusalReason;
}

/** A page of the access log, newest first; `more` tells whether older entries follow. */
export async function readRefusals(
  db: Pick<pg.Pool, 'query'>,
  query: RefusalQuery,
): Promise<{ entries: StoredRefusal[]; more: boolean }> {
  const { rows } = await db.query<Row>(
    `select id::text, at, key_id, address, method, path, status, reason from access.access_log
     where ($1::timestamptz is null or at >= $1)
       and ($2::timestamptz is null or at < $2)
       and ($3::smallint is null or status = $3)
       and ($4::uuid is null or key_id = $4)
       and ($5::timestamptz is null or (at, id) < ($5, $6::bigint))
     order by at desc, id desc
     limit $7`,
    [
      query.from ?? null,
      query.to ?? null,
      query.status ?? null,
      query.keyId ?? null,
      query.before?.at ?? null,
      query.before?.id ?? null,
      query.limit + 1,
    ],
  );
  return {
    entries: rows.slice(0, query.limit).map((row) => ({
      id: row.id,
      at: row.at,
      keyId: row.key_id,
      address: row.address,
      method: row.method,
      path: row.path,
      status: row.status,
      reason: row.reason,
    })),
    more: rows.length > query.limit,
  };
}
