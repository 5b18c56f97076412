// One batch of events into a read model: the rows it touches loaded, the events applied in memory,
// the rows and the checkpoint written back, all on the caller's transaction.
import type pg from 'pg';
import { toWalletEvent } from '../src/commands/walletCommandHandler.ts';
import { WALLET_STREAM_PREFIX } from '../src/domain/events.ts';
import type { Position, RecordedEvent } from '../src/eventstore/eventStore.ts';
import { storeCheckpoint } from './checkpoint.ts';
import { READ_MODEL_VERSION } from './readModelSchema.ts';
import { loadRows, type ProjectedEvent, projectEvent, saveRows } from './walletProjection.ts';

type Queryable = Pick<pg.PoolClient, 'query'>;

const toProjected = (event: RecordedEvent): ProjectedEvent => ({
  walletId: event.streamId.slice(WALLET_STREAM_PREFIX.length),
  revision: event.revision,
  event: toWalletEvent(event),
});

/**
 * Applies `events` (all after `from`) to the read model in `schema`, of layout `version`, and
 * moves its checkpoint, telling the `notify` channel if one is given.
 */
export async function applyBatch(
  db: Queryable,
  schema: string,
  from: Position,
  events: readonly RecordedEvent[],
  { version = READ_MODEL_VERSION, notify }: { version?: number; notify?: string } = {},
): Promise<Position> {
  const last = events.at(-1);
  if (!last) return from;
  const projected = events.map(toProjected);
  const rows = await loadRows(db, schema, projected);
  for (const event of projected) projectEvent(rows, event);
  await saveRows(db, schema, rows);
  await storeCheckpoint(db, schema, from, last.position, last.recordedAt, { version, notify });
  return last.position;
}
