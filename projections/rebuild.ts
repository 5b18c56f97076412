// Rebuild: replays the whole event store into a fresh schema while the live read model keeps
// serving, then swaps the two in one transaction. The live projector notices (its checkpoint guard
// fails) and carries on from the swapped-in checkpoint. The same is how a projector of a newer
// layout replaces an older read model (prepareReadModel): old readers keep their tables until
// the swap.
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
import { applyBatch } from './applyBatch.ts';
import { readCheckpoint } from './checkpoint.ts';
import {
  createReadModel,
  LIVE_SCHEMA,
  READ_MODEL_VERSION,
  REBUILD_SCHEMA,
  readModelVersion,
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
  /** The layout to build (this code's, unless a test plays an older or newer one). */
  readonly version?: number;
}

/** The live read model is of a newer layout than this code: an older instance must not touch it. */
export class NewerReadModelError extends Error {
  override readonly name = 'NewerReadModelError';
  constructor(
    readonly live: number,
    readonly mine: number,
  ) {
    super(
      `The read model has layout ${live}, newer than this instance's ${mine}: upgrade this instance.`,
    );
  }
}

/**
 * Runs `work` holding the read-model layout lock: one creation, upgrade or rebuild at a time,
 * whichever process asks.
 */
async function withLayoutLock<T>(pool: pg.Pool, work: () => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query(`select pg_advisory_lock(hashtext('read_model_layout'))`);
    return await work();
  } finally {
    await client.query(`select pg_advisory_unlock(hashtext('read_model_layout'))`).catch(() => {});
    client.release();
  }
}

/**
 * Makes the live read model the layout `version` (the projector's job, at its start): creates it
 * when there is none, rebuilds it from the events when it is older; a newer one is left alone
 * (`NewerReadModelError`). Returns what it did.
 */
export async function prepareReadModel(
  options: RebuildOptions & { log?: (message: string) => void },
): Promise<'current' | 'created' | 'upgraded'> {
  const { pool, version = READ_MODEL_VERSION } = options;
  const check = async () => {
    const live = await readModelVersion(pool);
    if (live !== undefined && live > version) throw new NewerReadModelError(live, version);
    return live;
  };
  if ((await check()) === version) return 'current';
  return withLayoutLock(pool, async () => {
    const live = await check();
    if (live === version) return 'current';
    if (live === undefined) {
      await createReadModel(pool, LIVE_SCHEMA, version);
      return 'created';
    }
    options.log?.(
      `read model layout ${live} is older than ${version}: rebuilding it from the events`,
    );
    await rebuildInto(options);
    return 'upgraded';
  });
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

/** Replays every event into fresh read models of this code's layout and swaps them in. */
export async function rebuildReadModel(
  options: RebuildOptions & { countEvents?: () => Promise<number | undefined> },
): Promise<RebuildResult> {
  const { pool, version = READ_MODEL_VERSION } = options;
  return withLayoutLock(pool, async () => {
    const live = await readModelVersion(pool);
    if (live !== undefined && live > version) throw new NewerReadModelError(live, version);
    if (live === undefined) await createReadModel(pool, LIVE_SCHEMA, version);
    return rebuildInto(options);
  });
}

async function rebuildInto(
  options: RebuildOptions & { countEvents?: () => Promise<number | undefined> },
): Promise<RebuildResult> {
  const { store, pool, batchSize = 2000, onProgress, countEvents } = options;
  const started = performance.now();
  await pool.query(`drop schema if exists ${REBUILD_SCHEMA} cascade`);
  await createReadModel(pool, REBUILD_SCHEMA, options.version);
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
      withTransaction(pool, (client) =>
        applyBatch(client, REBUILD_SCHEMA, from, events, { version: options.version }),
      ),
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
        (from, events) =>
          applyBatch(client, REBUILD_SCHEMA, from, events, { version: options.version }),
        rebuilt,
        { batchSize, until: live },
      ));
    }
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
