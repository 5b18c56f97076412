import type { EventStoreDBClient } from '@eventstore/db-client';
import { comparePositions, type Position, type RecordedEvent } from '../eventStore.ts';
import {
  collectEvents,
  isSystemEvent,
  toPosition,
  toReadPosition,
  toRecordedEvent,
} from './recordedEvent.ts';
import { type ReconnectOptions, retryTransient } from './retryTransient.ts';

/** Pages grow up to this size while system events have to be skipped. */
const MAX_PAGE = 4096;

/**
 * Up to `limit` events strictly after `from`, in global order, without system events.
 *
 * The client's `readAll` has no server-side filter and a forward read of `$all` starts *at* the
 * given position, so this reads pages, drops what is not strictly after the cursor, drops system
 * events, and reads on until `limit` events are found or the log ends.
 */
export async function readAll(
  client: EventStoreDBClient,
  from: Position,
  limit: number,
  reconnect: ReconnectOptions,
): Promise<RecordedEvent[]> {
  const found: RecordedEvent[] = [];
  let cursor = from;
  let pageSize = limit + 1; // a forward read includes the event at the cursor
  while (found.length < limit) {
    const fromPosition = toReadPosition(cursor);
    const page = await retryTransient(
      () => collectEvents(client.readAll({ fromPosition, maxCount: pageSize })),
      reconnect,
    );
    for (const event of page) {
      const position = toPosition(event.position);
      if (comparePositions(position, cursor) <= 0) continue;
      cursor = position;
      if (isSystemEvent(event)) continue;
      found.push(toRecordedEvent(event));
      if (found.length === limit) break;
    }
    if (page.length < pageSize) break; // the end of the log
    pageSize = Math.max(limit - found.length + 1, Math.min(pageSize * 2, MAX_PAGE));
  }
  return found;
}
