import type {
  RecordedEvent as EsdbRecordedEvent,
  EventStoreDBClient,
  ReadPosition,
} from '@eventstore/db-client';
import { type Position, START } from '../eventStore.ts';
import { collectEvents, toPosition } from './recordedEvent.ts';
import { type ReconnectOptions, retryTransient } from './retryTransient.ts';

const PAGE = 64;

/**
 * The position of the newest event (of streams with `streamPrefix`), read backwards from the end
 * of `$all`. EventStoreDB acknowledges an append once it is in the log, so everything appended
 * before is at or before it, and everything appended later comes after it.
 */
export async function headPosition(
  client: EventStoreDBClient,
  streamPrefix: string | undefined,
  reconnect: ReconnectOptions,
): Promise<Position> {
  let from: ReadPosition = 'end';
  for (;;) {
    const fromPosition: ReadPosition = from;
    const page: EsdbRecordedEvent[] = await retryTransient(
      () => collectEvents(client.readAll({ direction: 'backwards', fromPosition, maxCount: PAGE })),
      reconnect,
    );
    const found = page.find((event) => !streamPrefix || event.streamId.startsWith(streamPrefix));
    if (found) return toPosition(found.position);
    const last = page.at(-1);
    if (page.length < PAGE || !last?.position) return START;
    from = last.position;
  }
}
