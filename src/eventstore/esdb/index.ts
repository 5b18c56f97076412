import { EventStoreDBClient } from '@eventstore/db-client';
import type { EventStore } from '../eventStore.ts';
import { appendToStream } from './appendToStream.ts';
import { headPosition } from './headPosition.ts';
import { readAll } from './readAll.ts';
import { readStream } from './readStream.ts';
import { collectEvents } from './recordedEvent.ts';
import type { ReconnectOptions } from './retryTransient.ts';
import { subscribeToAll } from './subscribeToAll.ts';

export interface EsdbEventStoreOptions {
  /**
   * Retries after connection errors. `maxAttempts` defaults to 5 for appends and reads and to 30
   * (consecutive) for subscriptions; pauses start at 50 ms and double up to 2 s.
   */
  readonly reconnect?: ReconnectOptions;
}

/**
 * The production event store: EventStoreDB over gRPC (`esdb://host:2113?tls=false`, or a cluster
 * connection string). Streams, revisions, idempotent appends and the `$all` log are EventStoreDB's
 * own; this adapter maps them to the port and hides system events.
 */
export async function openEsdbEventStore(
  connectionString: string,
  { reconnect = {} }: EsdbEventStoreOptions = {},
): Promise<EventStore> {
  const client = EventStoreDBClient.connectionString(connectionString);
  // Fail fast on a wrong address or missing rights: one event of `$all`, read backwards.
  try {
    await collectEvents(client.readAll({ direction: 'backwards', maxCount: 1 }));
  } catch (error) {
    await client.dispose();
    throw error;
  }
  // Closing ends the subscriptions too (the client's own cancel would leave them hanging).
  const closing = new AbortController();
  return {
    appendToStream: (streamId, events, options) =>
      appendToStream(client, streamId, events, options, reconnect),
    readStream: (streamId, options) => readStream(client, streamId, options, reconnect),
    readAll: (from, limit) => readAll(client, from, limit, reconnect),
    subscribeToAll: (options = {}) =>
      subscribeToAll(
        client,
        {
          ...options,
          signal: options.signal
            ? AbortSignal.any([options.signal, closing.signal])
            : closing.signal,
        },
        reconnect,
      ),
    headPosition: (streamPrefix) => headPosition(client, streamPrefix, reconnect),
    close: async () => {
      closing.abort();
      await client.dispose();
    },
  };
}
