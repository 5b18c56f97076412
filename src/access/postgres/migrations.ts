// The API role's own tables, in a schema of their own: keys (hashes only), rate-limit windows, the
// access log of refused requests, and the console's sessions (hashes only).
import type pg from 'pg';
import { type Migration, migrate } from '../../infra/migrate.ts';

export const accessMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'api keys, rate windows, access log',
    sql: `
      create schema if not exists access;
      create table access.api_keys (
        key_id uuid primary key,
        key_hash bytea not null unique,
        kind text not null check (kind in ('owner', 'operator')),
        owner text,
        name text not null,
        scopes text[] not null,
        created_at timestamptz not null default now(),
        revoked_at timestamptz,
        last_used_at timestamptz,
        check ((kind = 'owner') = (owner is not null))
      );
      -- Requests counted per bucket (a key, or a client address) and fixed one-minute window.
      create table access.rate_windows (
        bucket text not null,
        window_start timestamptz not null,
        used bigint not null,
        primary key (bucket, window_start)
      );
      create table access.access_log (
        id bigint generated always as identity primary key,
        at timestamptz not null,
        key_id uuid,
        address text not null,
        method text not null,
        path text not null,
        status smallint not null,
        reason text not null
      );
      create index access_log_at_idx on access.access_log (at, id);
      create index access_log_key_at_idx on access.access_log (key_id, at, id);
    `,
  },
  {
    version: 2,
    name: 'console sessions',
    // A session stands for the key it was opened with: revoking the key ends it.
    sql: `
      create table access.sessions (
        session_hash bytea primary key,
        key_id uuid not null references access.api_keys (key_id),
        created_at timestamptz not null default now(),
        expires_at timestamptz not null
      );
      create index sessions_expires_at_idx on access.sessions (expires_at);
    `,
  },
];

export function migrateAccess(pool: pg.Pool): Promise<number[]> {
  return migrate(pool, 'access', accessMigrations);
}
