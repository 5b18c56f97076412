import type pg from 'pg';

/** Stores a session (its id's hash only) for a key, until `expiresAt`. */
export async function insertSession(
  db: Pick<pg.Pool, 'query'>,
  session: { hash: Buffer; keyId: string; expiresAt: Date },
): Promise<void> {
  await db.query(
    'insert into access.sessions (session_hash, key_id, expires_at) values ($1, $2, $3)',
    [session.hash, session.keyId, session.expiresAt],
  );
}
