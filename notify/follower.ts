// The outbox writer: follows the global log from the notify role's own checkpoint and writes each
// batch's deliveries in the same transaction as the checkpoint. One instance writes per database
// (a session advisory lock); the others stand by and take over within a second when it dies, and
// deliver meanwhile like it.
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { readCheckpoint } from '../projections/checkpoint.ts';
import { inBatches } from '../projections/projector.ts';
import { WALLET_STREAM_PREFIX } from '../src/domain/events.ts';
import type { EventStore, RecordedEvent } from '../src/eventstore/eventStore.ts';
import { withTransaction } from '../src/infra/postgres.ts';
import { NOTIFY_SCHEMA } from './schema.ts';
import { writeOutbox } from './store/writeOutbox.ts';

const LOCK = `hashtext('wallet-notify-outbox')`;

export interface FollowerOptions {
  readonly store: EventStore;
  readonly pool: pg.Pool;
  readonly signal: AbortSignal;
  readonly maxAttempts: number;
  readonly clock: () => Date;
  readonly batchSize?: number;
  readonly standbyPollMs?: number;
  readonly log: (message: string, details?: Record<string, unknown>) => void;
  /** Told when this instance becomes the writer, and when it stops being it. */
  readonly onActive?: (active: boolean) => void;
  /** After each committed batch. */
  readonly onBatch?: (info: { events: number; deliveries: number; last: RecordedEvent }) => void;
}

/** Runs until `signal` aborts; errors (a lost connection) restart it from the checkpoint. */
export async function runFollower(options: FollowerOptions): Promise<void> {
  const { pool, signal, log, standbyPollMs = 1000, onActive = () => {} } = options;
  while (!signal.aborted) {
    let lockClient: pg.PoolClient | undefined;
    try {
      lockClient = await pool.connect();
      const { rows } = await lockClient.query<{ locked: boolean }>(
        `select pg_try_advisory_lock(${LOCK}) as locked`,
      );
      if (!rows[0]?.locked) {
        lockClient.release();
        lockClient = undefined;
        await sleep(standbyPollMs, undefined, { signal }).catch(() => {});
        continue;
      }
      log('notify outbox writer active');
      onActive(true);
      await followWhileLocked(options, lockClient);
    } catch (error) {
      if (signal.aborted) break;
      log('notify outbox writer restarting', { error: (error as Error).message });
      await sleep(200, undefined, { signal }).catch(() => {});
    } finally {
      onActive(false);
      if (lockClient) {
        await lockClient.query(`select pg_advisory_unlock(${LOCK})`).catch(() => {});
        lockClient.release(true);
      }
    }
  }
}

async function followWhileLocked(options: FollowerOptions, lockClient: pg.PoolClient) {
  const { store, pool, signal, batchSize = 1000, onBatch } = options;
  // Losing the lock's session means another instance may take over: stop at once.
  const lost = new AbortController();
  const onLockLost = () => lost.abort();
  lockClient.on('error', onLockLost);
  lockClient.on('end', onLockLost);
  const stop = AbortSignal.any([signal, lost.signal]);
  let { position } = await readCheckpoint(pool, NOTIFY_SCHEMA);
  const subscription = store.subscribeToAll({
    from: position,
    signal: stop,
    streamPrefix: WALLET_STREAM_PREFIX,
  });
  for await (const events of inBatches(subscription, batchSize)) {
    if (stop.aborted) break;
    const from = position;
    const deliveries = await withTransaction(pool, (client) =>
      writeOutbox(client, {
        from,
        events,
        now: options.clock(),
        maxAttempts: options.maxAttempts,
      }),
    );
    const last = events.at(-1) as RecordedEvent;
    position = last.position;
    onBatch?.({ events: events.length, deliveries, last });
  }
  if (lost.signal.aborted && !signal.aborted) throw new Error('lost the outbox lock session');
}
