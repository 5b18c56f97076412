// The projector: follows the global log from the read model's checkpoint and applies events in
// batches, each batch and its checkpoint in one transaction (exactly-once effect). One instance is
// active per database (a session advisory lock); others stand by and take over when it dies.
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { WALLET_STREAM_PREFIX } from '../src/domain/events.ts';
import type { EventStore, Position, RecordedEvent } from '../src/eventstore/eventStore.ts';
import { withTransaction } from '../src/infra/postgres.ts';
import { applyBatch } from './applyBatch.ts';
import { readCheckpoint } from './checkpoint.ts';
import { LIVE_SCHEMA } from './readModelSchema.ts';
import { NewerReadModelError, prepareReadModel } from './rebuild.ts';

export const PROJECTION_CHANNEL = 'wallet_projection';
const LOCK_KEY = `hashtext('wallet-projector')`;

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
  /** The read-model layout this projector builds (this code's, unless a test plays another). */
  readonly version?: number;
}

/**
 * Runs until `signal` aborts: makes the read model its layout (creating it, or rebuilding an older
 * one), waits to become the active projector, then projects. Errors (a lost connection, a swapped
 * checkpoint) restart it from the stored checkpoint after a short pause. Facing a read model of a
 * newer layout it stands by: a newer projector owns it.
 */
export async function runProjector(options: ProjectorOptions): Promise<void> {
  const { pool, signal, log = () => {}, standbyPollMs = 1000, onActive = () => {} } = options;
  let newerWarned = false;
  let failures = 0;
  let since = 0;
  while (!signal.aborted) {
    let lockClient: pg.PoolClient | undefined;
    try {
      try {
        await prepareReadModel({ ...options, log });
        newerWarned = false;
      } catch (error) {
        if (!(error instanceof NewerReadModelError)) throw error;
        if (!newerWarned) log(error.message);
        newerWarned = true;
        await sleep(standbyPollMs, undefined, { signal }).catch(() => {});
        continue;
      }
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
      // Back off while the failure lasts (a database that is down): 0.2 s, doubling up to 5 s.
      failures = Date.now() - since > 30_000 ? 1 : failures + 1;
      since = Date.now();
      const delay = Math.min(200 * 2 ** (failures - 1), 5000);
      log('projector restarting', { error: (error as Error).message, retryInMs: delay });
      await sleep(delay, undefined, { signal }).catch(() => {});
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
  // A failed batch ends the subscription before the loop lets go of it: the subscription is
  // mid-read (batches read ahead), and only an abort makes it return instead of polling on.
  const failed = new AbortController();
  const stop = AbortSignal.any([signal, lost.signal, failed.signal]);
  let { position } = await readCheckpoint(pool, LIVE_SCHEMA);
  const subscription = store.subscribeToAll({
    from: position,
    signal: stop,
    streamPrefix: WALLET_STREAM_PREFIX,
  });
  for await (const batch of inBatches(subscription, batchSize)) {
    if (stop.aborted) break;
    const from = position;
    try {
      position = await withTransaction(pool, async (client) => {
        const next = await applyBatch(client, LIVE_SCHEMA, from, batch, options.version);
        // Delivered when the transaction commits: readers waiting for a revision look again.
        await client.query('select pg_notify($1, $2)', [
          PROJECTION_CHANNEL,
          next.commit.toString(),
        ]);
        return next;
      });
    } catch (error) {
      failed.abort();
      throw error;
    }
    const last = batch.at(-1) as RecordedEvent;
    onBatch?.({ events: batch.length, lagMs: Date.now() - last.recordedAt.getTime(), position });
  }
  if (lost.signal.aborted && !signal.aborted) throw new Error('lost the projector lock session');
}
