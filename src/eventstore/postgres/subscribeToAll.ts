import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { type RecordedEvent, START, type SubscribeOptions } from '../eventStore.ts';
import { readAll } from './readAll.ts';

export interface PollingOptions {
  /** Events read per query while catching up. */
  readonly batchSize?: number;
  /** Pause after a read that came back short (caught up). */
  readonly pollIntervalMs?: number;
}

/**
 * Catch-up then live, by reading forward from the last delivered position. Polling rather than
 * LISTEN/NOTIFY: NOTIFY serialises committing writers on a global lock, and a notified event may
 * still be hidden behind an older running transaction, so a reader has to poll anyway.
 */
export async function* subscribeToAll(
  pool: pg.Pool,
  { from = START, signal, streamPrefix }: SubscribeOptions = {},
  { batchSize = 1000, pollIntervalMs = 20 }: PollingOptions = {},
): AsyncGenerator<RecordedEvent> {
  let position = from;
  while (!signal?.aborted) {
    const events = await readAll(pool, position, batchSize, streamPrefix);
    for (const event of events) {
      if (signal?.aborted) return;
      yield event;
      position = event.position;
    }
    if (events.length < batchSize) {
      try {
        await sleep(pollIntervalMs, undefined, { signal });
      } catch {
        return; // aborted while waiting
      }
    }
  }
}
