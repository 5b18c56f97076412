// Command handling: load the wallet's stream, fold, decide, append with the expected revision; on a
// conflict reload and decide again. Wallet states are cached by revision: a stale entry costs one
// conflict, a current one saves the read, so a command is usually one round trip to the store.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { WALLET_EVENT_TYPES, type WalletEvent, walletStreamId } from '../domain/events.ts';
import {
  decide,
  evolve,
  fold,
  initialState,
  previousResult,
  snapshot,
  type Wallet,
  type WalletCommand,
  type WalletState,
} from '../domain/wallet.ts';
import {
  type EventStore,
  type RecordedEvent,
  WrongExpectedVersionError,
} from '../eventstore/eventStore.ts';
import { createKeyedMutex } from '../infra/keyedMutex.ts';

export interface CommandResult {
  /** The wallet right after the command (or, for a replayed keyed command, after its first run). */
  readonly wallet: Wallet;
  /** What this call appended; empty for a no-op or a replay. */
  readonly appended: readonly WalletEvent[];
}

export interface CommandHandlerOptions {
  /** Wallet states kept in memory (least recently used go first). */
  readonly cacheSize?: number;
  /** Conflicts tolerated before giving up with `ConcurrencyError`. */
  readonly maxRetries?: number;
  readonly clock?: () => Date;
  /** Told of every expected-revision conflict (metrics). */
  readonly onConflict?: () => void;
}

/** Too many concurrent writers on one wallet: the command was not applied and may be retried. */
export class ConcurrencyError extends Error {
  override readonly name = 'ConcurrencyError';
}

interface Entry {
  readonly state: WalletState;
  /** -1n: no stream yet. */
  readonly revision: bigint;
}

export function toWalletEvent(recorded: RecordedEvent): WalletEvent {
  if (!WALLET_EVENT_TYPES.includes(recorded.type as WalletEvent['type'])) {
    throw new Error(`Unknown event type ${recorded.type} in ${recorded.streamId}`);
  }
  return { type: recorded.type, data: recorded.data } as WalletEvent;
}

export function createWalletCommandHandler(store: EventStore, options: CommandHandlerOptions = {}) {
  const { cacheSize = 10_000, maxRetries = 20, clock = () => new Date(), onConflict } = options;
  const cache = new Map<string, Entry>();
  const runExclusive = createKeyedMutex();

  const remember = (walletId: string, entry: Entry) => {
    cache.delete(walletId);
    cache.set(walletId, entry);
    if (cache.size > cacheSize) cache.delete(cache.keys().next().value as string);
  };

  /** Brings `entry` (or nothing) up to the stream's head. */
  async function catchUp(walletId: string, entry: Entry = { state: initialState, revision: -1n }) {
    const events = await store.readStream(walletStreamId(walletId), {
      fromRevision: entry.revision + 1n,
    });
    let { state, revision } = entry;
    for (const event of events) {
      state = evolve(state, toWalletEvent(event));
      revision = event.revision;
    }
    const fresh = { state, revision };
    remember(walletId, fresh);
    return fresh;
  }

  async function handle(walletId: string, command: WalletCommand): Promise<CommandResult> {
    return runExclusive(walletId, async () => {
      let entry = cache.get(walletId) ?? (await catchUp(walletId));
      for (let attempt = 0; ; attempt++) {
        const events = decide(command, entry.state, clock());
        if (events.length === 0) {
          // A no-op or a replay. Every no-op decision only depends on facts that never change back
          // (statuses move forward, keys are kept), so a stale cached state decides it correctly.
          const replayed =
            'idempotency' in command && previousResult(entry.state, command.idempotency?.key);
          const wallet =
            replayed === undefined || replayed === false
              ? entry.state
              : await loadAsOf(walletId, { revision: replayed });
          return { wallet: snapshot(wallet as Wallet), appended: [] };
        }
        try {
          const { nextRevision } = await store.appendToStream(
            walletStreamId(walletId),
            events.map((e) => ({ id: randomUUID(), type: e.type, data: e.data })),
            { expectedRevision: entry.revision < 0n ? 'no_stream' : entry.revision },
          );
          const state = fold(events, entry.state);
          remember(walletId, { state, revision: nextRevision });
          return { wallet: snapshot(state as Wallet), appended: events };
        } catch (error) {
          if (!(error instanceof WrongExpectedVersionError)) throw error;
          onConflict?.();
          if (attempt >= maxRetries) {
            throw new ConcurrencyError(
              `Wallet ${walletId} is too busy; the command was not applied.`,
            );
          }
          if (attempt > 0) await sleep(Math.random() * Math.min(50, 2 ** attempt));
          entry = await catchUp(walletId, entry);
        }
      }
    });
  }

  /** The wallet as the store has it now (a fresh read, so never stale). */
  async function load(walletId: string): Promise<WalletState> {
    return runExclusive(walletId, async () => {
      const { state } = await catchUp(walletId, cache.get(walletId));
      return state && snapshot(state);
    });
  }

  /**
   * The wallet as it was: after the event at `revision`, or after the last event recorded at or
   * before `time`. Folds from the start into a fresh state (the cached one moves on).
   */
  async function loadAsOf(
    walletId: string,
    until: { revision: bigint } | { time: Date },
  ): Promise<WalletState> {
    const recorded = await store.readStream(walletStreamId(walletId));
    let state: WalletState = initialState;
    for (const event of recorded) {
      const walletEvent = toWalletEvent(event);
      if (
        'revision' in until
          ? event.revision > until.revision
          : Date.parse(walletEvent.data.at) > until.time.getTime()
      )
        break;
      state = evolve(state, walletEvent);
    }
    return state;
  }

  return { handle, load, loadAsOf };
}

export type WalletCommandHandler = ReturnType<typeof createWalletCommandHandler>;
