// The projector: follows the global log from the read model's checkpoint and applies events in
// batches, each batch and its checkpoint in one transaction (exactly-once effect). One instance is
// active per database (a session advisory lock); others stand by and take over when it dies.
import type pg from 'pg';
import { WALLET_STREAM_PREFIX } from '../src/domain/events.ts';
import type { EventStore, Position, RecordedEvent } from '../src/eventstore/eventStore.ts';
import { runAsLeader } from '../src/infra/leader.ts';
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

/**
 * Hands each batch of the wallet streams' events after `from` to `apply`, in order, until `stop`
 * aborts. A failed `apply` ends the subscription before its error leaves: the subscription reads
 * ahead, and only an abort makes it return instead of waiting on for the next event.
 */
export async function forEachBatch(
  store: EventStore,
  from: Position,
  stop: AbortSignal,
  batchSize: number,
  apply: (batch: RecordedEvent[]) => Promise<void>,
): Promise<void> {
  const failed = new AbortController();
  const subscription = store.subscribeToAll({
    from,
    signal: AbortSignal.any([stop, failed.signal]),
    streamPrefix: WALLET_STREAM_PREFIX,
  });
  for await (const batch of inBatches(subscription, batchSize)) {
    if (stop.aborted) break;
    try {
      await apply(batch);
    } catch (error) {
      failed.abort();
      throw error;
    }
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
  const { log = () => {} } = options;
  let newerWarned = false;
  await runAsLeader(
    {
      ...options,
      log,
      lockKey: LOCK_KEY,
      name: 'projector',
      ready: async () => {
        try {
          await prepareReadModel({ ...options, log });
          newerWarned = false;
          return true;
        } catch (error) {
          if (!(error instanceof NewerReadModelError)) throw error;
          if (!newerWarned) log(error.message);
          newerWarned = true;
          return false;
        }
      },
    },
    (stop) => projectWhileActive(options, stop),
  );
}

async function projectWhileActive(options: ProjectorOptions, stop: AbortSignal) {
  const { store, pool, batchSize = 1000, onBatch } = options;
  let { position } = await readCheckpoint(pool, LIVE_SCHEMA);
  await forEachBatch(store, position, stop, batchSize, async (batch) => {
    const from = position;
    // Readers waiting for a revision are told when the batch commits, and look again.
    position = await withTransaction(pool, (client) =>
      applyBatch(client, LIVE_SCHEMA, from, batch, {
        version: options.version,
        notify: PROJECTION_CHANNEL,
      }),
    );
    const last = batch.at(-1) as RecordedEvent;
    onBatch?.({ events: batch.length, lagMs: Date.now() - last.recordedAt.getTime(), position });
  });
}
