// The projector: follows the global log from the read model's checkpoint and applies events in
// batches, each batch and its checkpoint in one transaction (exactly-once effect). One instance is
// active per database (a session advisory lock); others stand by and take over when it dies.
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { toWalletEvent } from '../src/commands/walletCommandHandler.ts';
import { WALLET_STREAM_PREFIX } from '../src/domain/events.ts';
import {
  type EventStore,
  type Position,
  type RecordedEvent,
  START,
} from '../src/eventstore/eventStore.ts';
import { withTransaction } from '../src/infra/postgres.ts';
import { ensureReadModel, LIVE_SCHEMA } from './readModelSchema.ts';
import { loadRows, type ProjectedEvent, projectEvent, saveRows } from './walletProjection.ts';

export const PROJECTION_CHANNEL = 'wallet_projection';
const LOCK_KEY = `hashtext('wallet-projector')`;

type Queryable = Pick<pg.PoolClient, 'query'>;

export interface Checkpoint {
  readonly position: Position;
  readonly lastRecordedAt: Date | null;
}

export async function readCheckpoint(db: Queryable, schema: string): Promise<Checkpoint> {
  const { rows } = await db.query<{
    commit: string | null;
    prepare: string | null;
    last: Date | null;
  }>(
    `select commit_position::text as commit, prepare_position::text as prepare,
            last_recorded_at as last
     from ${schema}.checkpoint`,
  );
  const row = rows[0];
  const position =
    row?.commit == null || row.prepare == null
      ? START
      : { commit: BigInt(row.commit), prepare: BigInt(row.prepare) };
  return { position, lastRecordedAt: row?.last ?? null };
}

/** Thrown when the checkpoint is not where this projector left it (a rebuild swapped tables in). */
export class CheckpointMovedError extends Error {
  override readonly name = 'CheckpointMovedError';
}

/**
 * Moves the checkpoint from `from` to `to`, only if it still is at `from`: the guard that makes a
 * projector whose tables were swapped under it start over instead of applying events twice.
 */
export async function storeCheckpoint(
  db: Queryable,
  schema: string,
  from: Position,
  to: Position,
  lastRecordedAt: Date,
): Promise<void> {
  const fresh = from.commit < 0n;
  const { rowCount } = await db.query(
    `update ${schema}.checkpoint
     set commit_position = $1, prepare_position = $2, last_recorded_at = $3, updated_at = now()
     where ${fresh ? 'commit_position is null' : 'commit_position = $4 and prepare_position = $5'}`,
    fresh
      ? [to.commit.toString(), to.prepare.toString(), lastRecordedAt]
      : [
          to.commit.toString(),
          to.prepare.toString(),
          lastRecordedAt,
          from.commit.toString(),
          from.prepare.toString(),
        ],
  );
  if (rowCount !== 1) throw new CheckpointMovedError(`The ${schema} checkpoint moved.`);
}

const toProjected = (event: RecordedEvent): ProjectedEvent => ({
  walletId: event.streamId.slice(WALLET_STREAM_PREFIX.length),
  revision: event.revision,
  event: toWalletEvent(event),
});

/** Applies `events` (all after `from`) to the read model in `schema` and moves its checkpoint. */
export async function applyBatch(
  db: Queryable,
  schema: string,
  from: Position,
  events: readonly RecordedEvent[],
): Promise<Position> {
  const last = events.at(-1);
  if (!last) return from;
  const projected = events.map(toProjected);
  const rows = await loadRows(db, schema, projected);
  for (const event of projected) projectEvent(rows, event);
  await saveRows(db, schema, rows);
  await storeCheckpoint(db, schema, from, last.position, last.recordedAt);
  return last.position;
}

/**
 * Groups what a subscription delivers into arrays: everything already available, up to `maxSize`.
 * A batch closes as soon as the source would have to wait (a read, or the live tail).
 */
export async function* inBatches<T>(
  source: AsyncIterable<T>,
  maxSize: number,
): AsyncGenerator<T[]> {
  const iterator = source[Symbol.asyncIterator]();
  const WAIT = Symbol('wait');
  let pending = iterator.next();
  try {
    for (;;) {
      const first = await pending;
      if (first.done) return;
      const batch = [first.value];
      pending = iterator.next();
      while (batch.length < maxSize) {
        const next = await Promise.race([
          pending,
          new Promise<typeof WAIT>((resolve) => setImmediate(resolve, WAIT)),
        ]);
        if (next === WAIT) break;
        if (next.done) {
          yield batch;
          return;
        }
        batch.push(next.value);
        pending = iterator.next();
      }
      yield batch;
    }
  } finally {
    await iterator.return?.();
  }
}

export interface ProjectorOptions {
  readonly store: EventStore;
  readonly pool: pg.Pool;
  readonly signal: AbortSignal;
  readonly batchSize?: number;
  readonly log?: (message: string, details?: Record<string, unknown>) => void;
  /** After each committed batch (metrics). */
  readonly onBatch?: (info: { events: number; lagMs: number; position: Position }) => void;
  /** How often a standby asks for the lock. */
  readonly standbyPollMs?: number;
  /** Told when this instance becomes the active projector, and when it stops being it. */
  readonly onActive?: (active: boolean) => void;
}

/**
 * Runs until `signal` aborts: waits to become the active projector, then projects. Errors (a lost
 * connection, a swapped checkpoint) restart it from the stored checkpoint after a short pause.
 */
export async function runProjector(options: ProjectorOptions): Promise<void> {
  const { pool, signal, log = () => {}, standbyPollMs = 1000, onActive = () => {} } = options;
  await ensureReadModel(pool);
  while (!signal.aborted) {
    let lockClient: pg.PoolClient | undefined;
    try {
      lockClient = await pool.connect();
      const { rows } = await lockClient.query<{ locked: boolean }>(
        `select pg_try_advisory_lock(${LOCK_KEY}) as locked`,
      );
      if (!rows[0]?.locked) {
        lockClient.release();
        lockClient = undefined;
        await sleep(standbyPollMs, undefined, { signal }).catch(() => {});
        continue;
      }
      log('projector active');
      onActive(true);
      await projectWhileLocked(options, lockClient);
    } catch (error) {
      if (signal.aborted) break;
      log('projector restarting', { error: (error as Error).message });
      await sleep(200, undefined, { signal }).catch(() => {});
    } finally {
      onActive(false);
      if (lockClient) {
        await lockClient.query(`select pg_advisory_unlock(${LOCK_KEY})`).catch(() => {});
        // A client whose connection failed must not go back to the pool.
        lockClient.release(true);
      }
    }
  }
}

async function projectWhileLocked(options: ProjectorOptions, lockClient: pg.PoolClient) {
  const { store, pool, signal, batchSize = 1000, onBatch } = options;
  // Losing the lock's session means another projector may take over: stop at once. The listeners
  // stay: the client is destroyed afterwards, and a dead connection may report more than once.
  const lost = new AbortController();
  const onLockLost = () => lost.abort();
  lockClient.on('error', onLockLost);
  lockClient.on('end', onLockLost);
  const stop = AbortSignal.any([signal, lost.signal]);
  let { position } = await readCheckpoint(pool, LIVE_SCHEMA);
  const subscription = store.subscribeToAll({
    from: position,
    signal: stop,
    streamPrefix: WALLET_STREAM_PREFIX,
  });
  for await (const batch of inBatches(subscription, batchSize)) {
    if (stop.aborted) break;
    const from = position;
    position = await withTransaction(pool, async (client) => {
      const next = await applyBatch(client, LIVE_SCHEMA, from, batch);
      // Delivered when the transaction commits: readers waiting for a revision look again.
      await client.query('select pg_notify($1, $2)', [PROJECTION_CHANNEL, next.commit.toString()]);
      return next;
    });
    const last = batch.at(-1) as RecordedEvent;
    onBatch?.({ events: batch.length, lagMs: Date.now() - last.recordedAt.getTime(), position });
  }
  if (lost.signal.aborted && !signal.aborted) throw new Error('lost the projector lock session');
}
