import type pg from 'pg';
import { migrate } from '../../infra/migrate.ts';
import type { EventStore } from '../eventStore.ts';
import { type AppendGroupOptions, createAppendGroup } from './appendGroup.ts';
import { headPosition } from './headPosition.ts';
import { eventStoreMigrations } from './migrations.ts';
import { readAll } from './readAll.ts';
import { readStream } from './readStream.ts';
import { type PollingOptions, subscribeToAll } from './subscribeToAll.ts';

export interface PostgresEventStoreOptions extends PollingOptions, AppendGroupOptions {
  /** Close the pool with the store (when the store created it). */
  readonly ownsPool?: boolean;
}

/** The embedded default event store: PostgreSQL tables `streams` and `events`, migrated on open. */
export async function openPostgresEventStore(
  pool: pg.Pool,
  options: PostgresEventStoreOptions = {},
): Promise<EventStore> {
  await migrate(pool, 'eventstore', eventStoreMigrations);
  return {
    appendToStream: createAppendGroup(pool, options),
    readStream: (streamId, readOptions) => readStream(pool, streamId, readOptions),
    readAll: (from, limit) => readAll(pool, from, limit),
    subscribeToAll: (subscribeOptions) => subscribeToAll(pool, subscribeOptions, options),
    headPosition: (streamPrefix) => headPosition(pool, streamPrefix),
    close: async () => {
      if (options.ownsPool) await pool.end();
    },
  };
}
