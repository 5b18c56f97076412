import t from 'tap';
import { openPostgresEventStore } from '../../src/eventstore/postgres/index.ts';
import { createTestDatabase } from '../support/database.ts';
import { eventStoreContract } from './eventStoreContract.ts';

t.test('event store contract: PostgreSQL adapter', async (t) => {
  const db = await createTestDatabase(t, 30);
  eventStoreContract(t, async () => openPostgresEventStore(db.pool, { pollIntervalMs: 10 }));
});
