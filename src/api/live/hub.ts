// One event-store subscription per API process, shared by every open event stream: the hub starts
// it from the head of the log when the first listener joins, fans each event out to the listeners
// of its wallet and to those of every wallet, and stops it a while after the last one left. A
// listener's own delivery never blocks the others: it queues or drops (see eventStream.ts).
// Listeners catch up from their own position by reading the store; the join order makes that
// seamless (see `join`).
import { WALLET_STREAM_PREFIX } from '../../domain/events.ts';
import type { EventStore, RecordedEvent } from '../../eventstore/eventStore.ts';
import { liveMetrics } from './metrics.ts';

/** Why the server ended a stream. */
export type EndReason = 'too_slow' | 'revoked' | 'unavailable' | 'shutdown';

export interface LiveListener {
  /** Only this stream's events; undefined: every wallet's. */
  readonly streamId?: string;
  /** Called synchronously for every event, in global order; must not throw or wait. */
  deliver(event: RecordedEvent): void;
  /** The hub stops feeding it (its subscription failed, or the hub closes). */
  end(reason: EndReason): void;
}

export interface LiveHubOptions {
  readonly store: EventStore;
  /** How long the subscription stays open with no listener; default 60 s. */
  readonly idleStopMs?: number;
  readonly onError?: (error: unknown) => void;
}

export interface LiveHub {
  /**
   * Adds a listener. Resolves once the subscription follows the log: from the call on, every
   * event not yet delivered to the hub reaches the listener. So a listener that joins, then reads
   * the store from its own position, then takes what was delivered meanwhile (skipping what its
   * read already had) misses nothing: whatever its read did not see was appended after the join,
   * and the subscription delivers it afterwards. Rejects if the subscription cannot start.
   */
  join(listener: LiveListener): Promise<void>;
  leave(listener: LiveListener): void;
  /** Ends every listener (`shutdown`) and the subscription. */
  close(): Promise<void>;
  readonly listeners: number;
  /** Whether a subscription is open. */
  readonly subscribed: boolean;
}

export function createLiveHub({
  store,
  idleStopMs = 60_000,
  onError = () => {},
}: LiveHubOptions): LiveHub {
  const byStream = new Map<string, Set<LiveListener>>();
  const everyStream = new Set<LiveListener>();
  let count = 0;
  let running: { controller: AbortController; ready: Promise<void>; done: Promise<void> } | null =
    null;
  let idleTimer: NodeJS.Timeout | undefined;
  let closed = false;

  const feed = (listener: LiveListener) => (listener.streamId ? 'wallet' : 'all');

  const fanOut = (event: RecordedEvent) => {
    for (const listener of everyStream) listener.deliver(event);
    const listeners = byStream.get(event.streamId);
    if (listeners) for (const listener of listeners) listener.deliver(event);
  };

  const endAll = (reason: EndReason) => {
    for (const listener of [...everyStream, ...[...byStream.values()].flatMap((set) => [...set])]) {
      listener.end(reason);
    }
  };

  const start = () => {
    const controller = new AbortController();
    const head = store.headPosition(WALLET_STREAM_PREFIX);
    const done = head.then(async (from) => {
      liveMetrics.subscriptions.inc();
      liveMetrics.subscriptionsStarted.inc();
      try {
        const events = store.subscribeToAll({
          from,
          signal: controller.signal,
          streamPrefix: WALLET_STREAM_PREFIX,
        });
        for await (const event of events) fanOut(event);
      } finally {
        liveMetrics.subscriptions.dec();
      }
    });
    const current = { controller, ready: head.then(() => {}), done };
    done.catch((error: unknown) => {
      if (controller.signal.aborted) return;
      onError(error);
      // Listeners resume from their last event by themselves; the next join starts afresh.
      if (running === current) running = null;
      endAll('unavailable');
    });
    return current;
  };

  const stop = async () => {
    const current = running;
    running = null;
    if (!current) return;
    current.controller.abort();
    await current.done.catch(() => {});
  };

  const add = (listener: LiveListener) => {
    const { streamId } = listener;
    if (streamId === undefined) everyStream.add(listener);
    else {
      const set = byStream.get(streamId) ?? new Set();
      byStream.set(streamId, set.add(listener));
    }
    count++;
    liveMetrics.clients.inc({ feed: feed(listener) });
  };

  const hub: LiveHub = {
    async join(listener) {
      if (closed) throw new Error('the live hub is closed');
      clearTimeout(idleTimer);
      add(listener);
      running ??= start();
      try {
        await running.ready;
      } catch (error) {
        hub.leave(listener);
        running = null;
        throw error;
      }
    },
    leave(listener) {
      const { streamId } = listener;
      const removed =
        streamId === undefined
          ? everyStream.delete(listener)
          : (byStream.get(streamId)?.delete(listener) ?? false);
      if (!removed) return;
      if (streamId !== undefined && byStream.get(streamId)?.size === 0) byStream.delete(streamId);
      count--;
      liveMetrics.clients.dec({ feed: feed(listener) });
      if (count === 0 && !closed) {
        clearTimeout(idleTimer);
        idleTimer = setTimeout(() => void stop(), idleStopMs);
        idleTimer.unref();
      }
    },
    async close() {
      closed = true;
      clearTimeout(idleTimer);
      endAll('shutdown');
      await stop();
    },
    get listeners() {
      return count;
    },
    get subscribed() {
      return running !== null;
    },
  };
  return hub;
}
