import {
  type EventStoreDBClient,
  excludeSystemEvents,
  streamNameFilter,
} from '@eventstore/db-client';
import {
  comparePositions,
  type Position,
  type RecordedEvent,
  START,
  type SubscribeOptions,
} from '../eventStore.ts';
import { isSystemEvent, toReadPosition, toRecordedEvent } from './recordedEvent.ts';
import { backOff, isTransient, type ReconnectOptions } from './retryTransient.ts';

/**
 * Catch-up then live, as one `$all` subscription filtered on the server: by stream prefix when one
 * is given, otherwise by event type (EventStoreDB's `excludeSystemEvents`). What a server filter
 * cannot express (a `$` event type in a matching stream, a `$` stream with a plain event type) is
 * dropped here.
 *
 * When the subscription fails with a connection error (server restart, dropped connection, leader
 * change) it subscribes again from the last delivered position: EventStoreDB subscriptions start
 * strictly after the given position, so nothing is skipped and nothing is delivered twice.
 */
export async function* subscribeToAll(
  client: EventStoreDBClient,
  { from = START, signal, streamPrefix }: SubscribeOptions = {},
  reconnect: ReconnectOptions,
): AsyncGenerator<RecordedEvent> {
  const { maxAttempts = 30 } = reconnect;
  let position: Position = from;
  let failures = 0;
  while (!signal?.aborted) {
    const subscription = client.subscribeToAll({
      fromPosition: toReadPosition(position),
      filter: streamPrefix ? streamNameFilter({ prefixes: [streamPrefix] }) : excludeSystemEvents(),
    });
    subscription.on('confirmation', () => {
      failures = 0;
    });
    let stopped = false;
    const stop = () => {
      if (stopped) return;
      stopped = true;
      // Cancelling the call does not end the client's stream: destroy it so the loop below ends.
      void subscription
        .unsubscribe()
        .catch(() => {})
        .finally(() => subscription.destroy());
    };
    signal?.addEventListener('abort', stop, { once: true });
    let failure: unknown;
    try {
      for await (const resolved of subscription) {
        const event = resolved.event;
        if (!event || isSystemEvent(event)) continue;
        const recorded = toRecordedEvent(event);
        if (comparePositions(recorded.position, position) <= 0) continue;
        position = recorded.position;
        yield recorded;
        if (signal?.aborted) return;
      }
    } catch (error) {
      failure = error;
    } finally {
      signal?.removeEventListener('abort', stop);
      stop();
    }
    if (signal?.aborted) return;
    // A connection error, or the server ended the subscription: subscribe again after a pause.
    if ((failure !== undefined && !isTransient(failure)) || ++failures >= maxAttempts) {
      throw failure ?? new Error('EventStoreDB keeps ending the $all subscription');
    }
    if (!(await backOff(failures - 1, reconnect, signal))) return;
  }
}
