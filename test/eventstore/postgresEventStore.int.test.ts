import { randomUUID } from 'node:crypto';
import t from 'tap';
import { openPostgresEventStore } from '../../src/eventstore/postgres/index.ts';
import { createTestDatabase } from '../support/database.ts';
import { eventStoreContract } from './eventStoreContract.ts';

t.test('event store contract: PostgreSQL adapter', async (t) => {
  const db = await createTestDatabase(t, 30);
  eventStoreContract(t, async () => openPostgresEventStore(db.pool, { pollIntervalMs: 10 }));
});

t.test('an append PostgreSQL refuses fails alone, not the appends grouped with it', async (t) => {
  const db = await createTestDatabase(t, 10);
  const store = await openPostgresEventStore(db.pool);
  // jsonb refuses U+0000: the group statement fails, and each append then goes on its own.
  const results = await Promise.allSettled(
    Array.from({ length: 20 }, (_, i) =>
      store.appendToStream(
        `wallet-${randomUUID()}`,
        [{ id: randomUUID(), type: 'Noted', data: { text: i === 7 ? 'a\u0000b' : 'fine' } }],
        { expectedRevision: 'no_stream' },
      ),
    ),
  );
  t.same(
    results.map((r) => r.status),
    Array.from({ length: 20 }, (_, i) => (i === 7 ? 'rejected' : 'fulfilled')),
  );
  const { rows } = await db.pool.query('select count(*)::int as n from events');
  t.equal(rows[0].n, 19);
});
