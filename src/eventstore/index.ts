// Picks the event store: EventStoreDB when EVENTSTORE_URL is set, else PostgreSQL in the database
// the read models use.
import type pg from 'pg';
import type { EventStore } from './eventStore.ts';
import { openPostgresEventStore } from './postgres/index.ts';

export async function openEventStore(options: {
  eventStoreUrl: string | undefined;
  pool: pg.Pool;
}): Promise<EventStore> {
  if (options.eventStoreUrl) {
    const { openEsdbEventStore } = await import('./esdb/index.ts');
    return openEsdbEventStore(options.eventStoreUrl);
  }
  return openPostgresEventStore(options.pool);
}
