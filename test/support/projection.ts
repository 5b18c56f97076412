import type pg from 'pg';
import { readCheckpoint } from '../../projections/checkpoint.ts';
import { LIVE_SCHEMA } from '../../projections/readModelSchema.ts';
import { WALLET_STREAM_PREFIX } from '../../src/domain/events.ts';
import {
  comparePositions,
  type EventStore,
  type Position,
  START,
} from '../../src/eventstore/eventStore.ts';
import { pollUntil } from './poll.ts';

/** The position of the newest wallet event in the store. */
export async function headPosition(store: EventStore): Promise<Position> {
  let cursor = START;
  let head = START;
  for (
    let page = await store.readAll(START, 5000);
    page.length > 0;
    page = await store.readAll(cursor, 5000)
  ) {
    cursor = page.at(-1)!.position;
    for (const event of page)
      if (event.streamId.startsWith(WALLET_STREAM_PREFIX)) head = event.position;
  }
  return head;
}

/** Waits until the live read model has applied every event the store holds now. */
export async function waitUntilProjected(pool: pg.Pool, store: EventStore, timeoutMs = 30_000) {
  const head = await headPosition(store);
  await pollUntil(
    'the projector to catch up',
    async () =>
      (await readCheckpoint(pool, LIVE_SCHEMA).catch(() => ({ position: START }))).position,
    { until: (position) => comparePositions(position, head) >= 0, timeoutMs, intervalMs: 20 },
  );
}
