// The outbox writer: follows the global log from the notify role's own checkpoint and writes each
// batch's deliveries in the same transaction as the checkpoint. One instance writes per database
// (a session advisory lock); the others stand by and take over within a second when it dies, and
// deliver meanwhile like it.
import type pg from 'pg';
import { readCheckpoint } from '../projections/checkpoint.ts';
import { forEachBatch } from '../projections/projector.ts';
import type { EventStore, RecordedEvent } from '../src/eventstore/eventStore.ts';
import { runAsLeader } from '../src/infra/leader.ts';
import { withTransaction } from '../src/infra/postgres.ts';
import { NOTIFY_SCHEMA } from './schema.ts';
import { writeOutbox } from './store/writeOutbox.ts';

const LOCK = `hashtext('wallet-notify-outbox')`;

export interface FollowerOptions {
  readonly store: EventStore;
  readonly pool: pg.Pool;
  readonly signal: AbortSignal;
  readonly maxAttempts: number;
  /** WEBHOOK_RETENTION_DAYS (writeOutbox.ts). */
  readonly retentionDays: number;
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
export function runFollower(options: FollowerOptions): Promise<void> {
  return runAsLeader({ ...options, lockKey: LOCK, name: 'notify outbox writer' }, (stop) =>
    followWhileActive(options, stop),
  );
}

async function followWhileActive(options: FollowerOptions, stop: AbortSignal) {
  const { store, pool, batchSize = 1000, onBatch } = options;
  const { position } = await readCheckpoint(pool, NOTIFY_SCHEMA);
  let from = position;
  await forEachBatch(store, from, stop, batchSize, async (events) => {
    const deliveries = await withTransaction(pool, (client) =>
      writeOutbox(client, {
        from,
        events,
        now: options.clock(),
        maxAttempts: options.maxAttempts,
        retentionDays: options.retentionDays,
      }),
    );
    const last = events.at(-1) as RecordedEvent;
    from = last.position;
    onBatch?.({ events: events.length, deliveries, last });
  });
}
