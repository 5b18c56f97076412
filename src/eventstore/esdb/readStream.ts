import { type EventStoreDBClient, StreamNotFoundError } from '@eventstore/db-client';
import type { ReadStreamOptions, RecordedEvent } from '../eventStore.ts';
import { collectEvents, toRecordedEvent } from './recordedEvent.ts';
import { type ReconnectOptions, retryTransient } from './retryTransient.ts';

/** Events of one stream in revision order; EventStoreDB's "stream not found" reads as empty. */
export async function readStream(
  client: EventStoreDBClient,
  streamId: string,
  { fromRevision = 0n, maxCount }: ReadStreamOptions = {},
  reconnect: ReconnectOptions,
): Promise<RecordedEvent[]> {
  if (maxCount !== undefined && maxCount <= 0) return [];
  const read = () =>
    client.readStream(streamId, { fromRevision, ...(maxCount === undefined ? {} : { maxCount }) });
  return retryTransient(async () => {
    try {
      return (await collectEvents(read())).map(toRecordedEvent);
    } catch (error) {
      if (error instanceof StreamNotFoundError) return [];
      throw error;
    }
  }, reconnect);
}
