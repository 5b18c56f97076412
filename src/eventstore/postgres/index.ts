import type pg from 'pg';
import { migrate } from '../../infra/migrate.ts';
import type { EventStore } from '../eventStore.ts';
import { createAppendGroup } from './appendGroup.ts';
import { headPosition } from './headPosition.ts';
import { eventStoreMigrations } from './migrations.ts';
import { readAll } from './readAll.ts';
import { createReadGroup } from './readGroup.ts';
import type { GroupOptions } from './statementGroups.ts';
import { type PollingOptions, subscribeToAll } from './subscribeToAll.ts';

export interface PostgresEventStoreOptions extends PollingOptions {
  /** How appends are grouped into statements (default: 1 in flight, 64 streams in one). */
  readonly appends?: GroupOptions;
  /** How stream reads are grouped into statements (default: 1 in flight, 64 reads in one). */
  readonly reads?: GroupOptions;
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
    appendToStream: createAppendGroup(pool, options.appends),
    readStream: createReadGroup(pool, options.reads),
    readAll: (from, limit) => readAll(pool, from, limit),
    subscribeToAll: (subscribeOptions) => subscribeToAll(pool, subscribeOptions, options),
    headPosition: (streamPrefix) => headPosition(pool, streamPrefix),
    close: async () => {
      if (options.ownsPool) await pool.end();
    },
  };
}
