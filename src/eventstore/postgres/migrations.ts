import type { Migration } from '../../infra/migrate.ts';

export const eventStoreMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'events and streams',
    // `streams` holds each stream's last revision: appends update it with the expected revision in
    // the WHERE clause, so a concurrent writer waits on the row lock and then finds no match.
    // `transaction_id` gives readers a global order without gaps (see readAll.ts).
    sql: `
      create table streams (
        stream_id text primary key,
        revision bigint not null
      );
      create table events (
        global_position bigint generated always as identity primary key,
        transaction_id xid8 not null default pg_current_xact_id(),
        stream_id text not null,
        stream_revision bigint not null,
        event_id uuid not null,
        event_type text not null,
        data jsonb not null,
        metadata jsonb,
        recorded_at timestamptz not null default now(),
        constraint events_stream_revision_key unique (stream_id, stream_revision),
        constraint events_event_id_key unique (event_id)
      );
      create index events_transaction_id_global_position_idx on events (transaction_id, global_position);
    `,
  },
];
