import {
  ANY,
  type AppendExpectedRevision,
  WrongExpectedVersionError as EsdbWrongExpectedVersionError,
  type EventData,
  type EventStoreDBClient,
  type JSONType,
  NO_STREAM,
} from '@eventstore/db-client';
import {
  type AppendResult,
  type EventToAppend,
  type ExpectedRevision,
  WrongExpectedVersionError,
} from '../eventStore.ts';
import { collectEvents, toPosition } from './recordedEvent.ts';
import { type ReconnectOptions, retryTransient } from './retryTransient.ts';

function toExpectedRevision(expected: ExpectedRevision): AppendExpectedRevision {
  if (expected === 'no_stream') return NO_STREAM;
  if (expected === 'any') return ANY;
  return expected;
}

function toEventData(event: EventToAppend): EventData {
  // The client would fail on it outside this call's promise; PostgreSQL's column refuses it too.
  if (event.data === undefined) throw new Error(`Event ${event.id} (${event.type}) has no data`);
  return {
    id: event.id,
    contentType: 'application/json',
    type: event.type,
    // Any JSON value: the client only JSON.stringifies it.
    data: event.data as JSONType,
    metadata: event.metadata,
  };
}

/**
 * Appends with the expected revision. EventStoreDB itself makes a repeated append of the same event
 * ids at the same expected revision a no-op success (idempotent write), which also makes it safe to
 * retry an append whose answer was lost with the connection.
 */
export async function appendToStream(
  client: EventStoreDBClient,
  streamId: string,
  events: readonly EventToAppend[],
  { expectedRevision }: { expectedRevision: ExpectedRevision },
  reconnect: ReconnectOptions,
): Promise<AppendResult> {
  if (events.length === 0) throw new Error('appendToStream needs at least one event');
  const eventData = events.map(toEventData);
  try {
    const result = await retryTransient(
      () =>
        client.appendToStream(streamId, eventData, {
          expectedRevision: toExpectedRevision(expectedRevision),
        }),
      reconnect,
    );
    return {
      nextRevision: result.nextExpectedRevision,
      position: result.position
        ? toPosition(result.position)
        : await positionOf(client, streamId, result.nextExpectedRevision),
    };
  } catch (error) {
    if (!(error instanceof EsdbWrongExpectedVersionError)) throw error;
    const actual = error.actualVersion;
    throw new WrongExpectedVersionError(
      streamId,
      expectedRevision,
      typeof actual === 'bigint' ? actual : 'no_stream',
    );
  }
}

/** A server that answers without a position: take it from the event itself. */
async function positionOf(client: EventStoreDBClient, streamId: string, revision: bigint) {
  const [event] = await collectEvents(
    client.readStream(streamId, { fromRevision: revision, maxCount: 1 }),
  );
  if (!event) throw new Error(`Stream ${streamId}: no event at revision ${revision}`);
  return toPosition(event.position);
}
