import type pg from 'pg';
import type { Refusal } from './refusal.ts';

/** Appends refused requests to the access log in one statement. */
export async function insertRefusals(
  db: Pick<pg.Pool, 'query'>,
  refusals: readonly Refusal[],
): Promise<void> {
  if (refusals.length === 0) return;
  await db.query(
    `insert into access.access_log (at, key_id, address, method, path, status, reason)
     select * from unnest($1::timestamptz[], $2::uuid[], $3::text[], $4::text[], $5::text[],
                          $6::smallint[], $7::text[])`,
    [
      refusals.map((r) => r.at),
      refusals.map((r) => r.keyId),
      refusals.map((r) => r.address),
      refusals.map((r) => r.method),
      refusals.map((r) => r.path),
      refusals.map((r) => r.status),
      refusals.map((r) => r.reason),
    ],
  );
}
