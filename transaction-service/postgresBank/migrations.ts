import type { Migration } from '../../src/infra/migrate.ts';

/** The books, in a schema of their own (they may share a database with the ledger's tables). */
export const bankMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'transfers and attempts',
    // One row per verdict. The unique key is what makes a key pay once, whichever process or
    // request decides first; a request without a key (null) is always a row of its own. `id` is
    // the order of the books (GET /transfers).
    sql: `
      create schema if not exists transaction_service;
      create table transaction_service.transfers (
        id bigint generated always as identity primary key,
        key text unique,
        status text not null check (status in ('paid', 'refused')),
        amount text,
        currency text,
        target text,
        wallet text,
        decided_at timestamptz not null,
        reason text
      );
      create table transaction_service.attempts (
        key text primary key,
        attempts integer not null
      );
    `,
  },
];
