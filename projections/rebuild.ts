// Rebuild: replays the whole event store into a fresh schema while the live read model keeps
// serving, then swaps the two in one transaction. The live projector notices (its checkpoint guard
// fails) and carries on from the swapped-in checkpoint.
import type pg from 'pg';
import { WALLET_STREAM_PREFIX } from '../src/domain/events.ts';
import {
  comparePositions,
  type EventStore,
  type Position,
  type RecordedEvent,
  START,
} from '../src/eventstore/eventStore.ts';
import { withTransaction } from '../src/infra/postgres.ts';
import { applyBatch, readCheckpoint } from './projector.ts';
import {
  createReadModel,
  ensureReadModel,
  LIVE_SCHEMA,
  REBUILD_SCHEMA,
} from './readModelSchema.ts';

export interface RebuildProgress {
  /** Wallet events applied so far. */
  readonly done: number;
  /**
   * Wallet events in the store as last counted, if the store can tell. Writes go on during a
   * rebuild: once the replay passes the count, it is counted again.
   */
  readonly total: number | undefined;
  readonly elapsedMs: number;
}

export interface RebuildOptions {
  readonly store: EventStore;
  readonly pool: pg.Pool;
  readonly batchSize?: number;
  readonly onProgress?: (progress: RebuildProgress) => void;
}

export interface RebuildResult {
  readonly events: number;
  readonly elapsedMs: number;
  /** Events applied inside the swap to catch up with the live projector. */
  readonly caughtUpInSwap: number;
}

const isWalletEvent = (e: RecordedEvent) => e.streamId.startsWith(WALLET_STREAM_PREFIX);

type Apply = (from: Position, events: readonly RecordedEvent[]) => Promise<Position>;

/**
 * Reads the log after `from` page by page (up to `until`, inclusive, if given) and hands the wallet
 * events of each page to `apply`. Returns the position of the last event applied.
 */
async function replay(
  store: EventStore,
  apply: Apply,
  from: Position,
  {
    batchSize,
    until,
    onPage,
  }: { batchSize: number; until?: Position; onPage?: (n: number) => Promise<void> },
): Promise<{ position: Position; applied: number }> {
  let cursor = from;
  let checkpoint = from;
  let applied = 0;
  for (;;) {
    const page = await store.readAll(cursor, batchSize);
    const inRange = until ? page.filter((e) => comparePositions(e.position, until) <= 0) : page;
    const events = inRange.filter(isWalletEvent);
    if (events.length > 0) {
      checkpoint = await apply(checkpoint, events);
      applied += events.length;
      await onPage?.(applied);
    }
    cursor = inRange.at(-1)?.position ?? cursor;
    if (page.length < batchSize || inRange.length < page.length) {
      return { position: checkpoint, applied };
    }
  }
}

export async function rebuildReadModel(
  options: RebuildOptions & { countEvents?: () => Promise<number | undefined> },
): Promise<RebuildResult> {
  const { store, pool, batchSize = 2000, onProgress, countEvents } = options;
  const started = performance.now();
  await ensureReadModel(pool);
  await pool.query(`drop schema if exists ${REBUILD_SCHEMA} cascade`);
  await createReadModel(pool, REBUILD_SCHEMA);
  let total = await countEvents?.();
  const progress = async (done: number) => {
    // The log grows while the rebuild runs: count again whenever the replay has passed the last
    // count (a few times at most: the replay ends at its first short page).
    if (countEvents && total !== undefined && done > total) total = await countEvents();
    onProgress?.({ done, total, elapsedMs: performance.now() - started });
  };
  await progress(0);

  const { position: rebuilt, applied } = await replay(
    store,
    (from, events) =>
      withTransaction(pool, (client) => applyBatch(client, REBUILD_SCHEMA, from, events)),
    START,
    { batchSize, onPage: progress },
  );

  const caughtUpInSwap = await withTransaction(pool, async (client) => {
    // Waits for the live projector's batch in flight and holds its next one (and, for the moment
    // of the swap, readers) until this commits. Same order as a projector batch takes its locks,
    // so the two queue up instead of deadlocking.
    await client.query(
      `lock table ${LIVE_SCHEMA}.wallets, ${LIVE_SCHEMA}.transactions,
                  ${LIVE_SCHEMA}.due_withdrawals, ${LIVE_SCHEMA}.checkpoint in access exclusive mode`,
    );
    const live = (await readCheckpoint(client, LIVE_SCHEMA)).position;
    let extra = 0;
    if (comparePositions(rebuilt, live) < 0) {
      ({ applied: extra } = await replay(
        store,
        (from, events) => applyBatch(client, REBUILD_SCHEMA, from, events),
        rebuilt,
        { batchSize, until: live },
      ));
    }
    // Claims in flight stay with their scheduler.
    await client.query(
      `update ${REBUILD_SCHEMA}.due_withdrawals r
       set leased_until = l.leased_until, leased_by = l.leased_by
       from ${LIVE_SCHEMA}.due_withdrawals l where l.withdrawal_id = r.withdrawal_id`,
    );
    await client.query(`alter schema ${LIVE_SCHEMA} rename to ${LIVE_SCHEMA}_old`);
    await client.query(`alter schema ${REBUILD_SCHEMA} rename to ${LIVE_SCHEMA}`);
    await client.query(`drop schema ${LIVE_SCHEMA}_old cascade`);
    return extra;
  });
  const result = {
    events: applied + caughtUpInSwap,
    elapsedMs: performance.now() - started,
    caughtUpInSwap,
  };
  await progress(result.events);
  return result;
}
