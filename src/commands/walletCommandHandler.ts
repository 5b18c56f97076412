// Command handling: load the wallet's stream, fold, decide, append with the expected revision; on a
// conflict reload and decide again. Wallet states are cached by revision: a stale entry costs one
// conflict, a current one saves the read, so a command is usually one round trip to the store.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { WalletNotFound } from '../domain/errors.ts';
import { isWalletEventType, type WalletEvent, walletStreamId } from '../domain/events.ts';
import {
  decide,
  evolve,
  fold,
  initialState,
  previousResult,
  type Wallet,
  type WalletCommand,
  type WalletState,
} from '../domain/wallet.ts';
import {
  type EventStore,
  type RecordedEvent,
  WrongExpectedVersionError,
} from '../eventstore/eventStore.ts';
import { type CommandContext, metadataOf } from './metadata.ts';

export interface CommandResult {
  /** The wallet right after the command (or, for a replayed keyed command, after its first run). */
  readonly wallet: Wallet;
  /** What this call appended; empty for a no-op or a replay. */
  readonly appended: readonly WalletEvent[];
}

export interface CommandHandlerOptions {
  /** Wallet states kept in memory (least recently used go first). */
  readonly cacheSize?: number;
  /**
   * Withdrawals, transfers and idempotency keys in the kept states together, at most: a state
   * grows with its wallet's history, so a count of wallets alone does not bound the memory.
   */
  readonly cacheItems?: number;
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

/** Commands decided together and appended in one go, at most. */
const MAX_BATCH = 100;

/** A queued request: a command, or (`undefined`) a fresh read of the wallet. */
interface Pending {
  readonly command: WalletCommand | undefined;
  readonly context?: CommandContext | undefined;
  resolve(result: CommandResult): void;
  reject(error: unknown): void;
}

interface Entry {
  readonly state: WalletState;
  /** -1n: no stream yet. */
  readonly revision: bigint;
}

const itemsOf = ({ state }: Entry) =>
  state ? 1 + state.withdrawals.size + state.incoming.size + state.idempotency.size : 1;

export function toWalletEvent(recorded: RecordedEvent): WalletEvent {
  if (!isWalletEventType(recorded.type)) {
    throw new Error(`Unknown event type ${recorded.type} in ${recorded.streamId}`);
  }
  return { type: recorded.type, data: recorded.data } as WalletEvent;
}

export function createWalletCommandHandler(store: EventStore, options: CommandHandlerOptions = {}) {
  const {
    cacheSize = 10_000,
    cacheItems = 500_000,
    maxRetries = 20,
    clock = () => new Date(),
    onConflict,
  } = options;
  const cache = new Map<string, Entry>();
  let cachedItems = 0;
  // Per wallet: requests waiting for the one batch in progress (see `drain`).
  const queues = new Map<string, Pending[]>();

  const forget = (walletId: string, entry: Entry) => {
    cache.delete(walletId);
    cachedItems -= itemsOf(entry);
  };
  const remember = (walletId: string, entry: Entry) => {
    // A read that started before a command's append may finish after it: keep the newer state.
    const before = cache.get(walletId);
    if ((before?.revision ?? -1n) > entry.revision) return;
    if (before) forget(walletId, before);
    cache.set(walletId, entry);
    cachedItems += itemsOf(entry);
    // The newest state stays even when it alone is over the limit.
    while (cache.size > 1 && (cache.size > cacheSize || cachedItems > cacheItems)) {
      const [oldest, oldestEntry] = cache.entries().next().value as [string, Entry];
      forget(oldest, oldestEntry);
    }
  };

  /** Brings `entry` (or nothing) up to the stream's head and caches the result. */
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

  function enqueue(walletId: string, request: Omit<Pending, 'resolve' | 'reject'>) {
    return new Promise<CommandResult>((resolve, reject) => {
      const queue = queues.get(walletId);
      if (queue) return queue.push({ ...request, resolve, reject });
      queues.set(walletId, [{ ...request, resolve, reject }]);
      void drain(walletId);
    });
  }

  /**
   * Commands on one wallet run as batches: whatever queued while the previous append was in
   * flight is decided in order, each against the state the ones before it leave, and appended in
   * one go. A hot wallet then costs one round trip per batch, not per command, and commands of one
   * process never conflict with each other.
   */
  async function drain(walletId: string) {
    for (;;) {
      const queue = queues.get(walletId) ?? [];
      const batch = queue.splice(0, MAX_BATCH);
      if (batch.length === 0) {
        queues.delete(walletId);
        return;
      }
      try {
        const results = await runBatch(walletId, batch);
        batch.forEach((request, i) => {
          const result = results[i] as CommandResult | Error;
          if (result instanceof Error) request.reject(result);
          else request.resolve(result);
        });
      } catch (error) {
        for (const request of batch) request.reject(error);
      }
    }
  }

  async function runBatch(walletId: string, batch: Pending[]): Promise<(CommandResult | Error)[]> {
    const cached = batch.some((request) => request.command === undefined)
      ? undefined
      : cache.get(walletId);
    let entry = cached ?? (await catchUp(walletId, cache.get(walletId)));
    // Whether `entry` is known to be the store's current state (read now, or proven by an append).
    let current = cached === undefined;
    for (let attempt = 0; ; attempt++) {
      // States are values: a failed append leaves the cached one as the store has it.
      let state = entry.state;
      const events: { event: WalletEvent; context: CommandContext | undefined }[] = [];
      const results: (CommandResult | Error | { replayOf: bigint })[] = [];
      const byRevision = new Map<bigint, Wallet>();
      for (const { command, context } of batch) {
        if (!command) {
          results.push({ wallet: state as Wallet, appended: [] });
          continue;
        }
        try {
          if (state && context?.mayActOn && !context.mayActOn(state.owner)) {
            throw new WalletNotFound();
          }
          const decided = decide(command, state, clock());
          if (decided.length === 0) {
            // A no-op or a replay. No-op decisions only depend on facts that never change back
            // (statuses move forward, keys are kept), so even a stale cached state decides them.
            const replayOf =
              'idempotency' in command
                ? previousResult(state, command.idempotency?.key)
                : undefined;
            results.push(
              replayOf === undefined ? { wallet: state as Wallet, appended: [] } : { replayOf },
            );
            continue;
          }
          state = fold(decided, state);
          for (const event of decided) events.push({ event, context });
          const wallet = state as Wallet;
          byRevision.set(wallet.revision, wallet);
          results.push({ wallet, appended: decided });
        } catch (error) {
          results.push(error as Error);
        }
      }
      if (events.length === 0 && !current && results.some((r) => r instanceof Error)) {
        // A refusal decided on a cached state may be stale (the wallet, the withdrawal or the key
        // may exist by now through another instance): decide again on what the store holds.
        entry = await catchUp(walletId, entry);
        current = true;
        continue;
      }
      try {
        if (events.length > 0) {
          const { nextRevision } = await store.appendToStream(
            walletStreamId(walletId),
            events.map(({ event, context }) => ({
              id: randomUUID(),
              type: event.type,
              data: event.data,
              metadata: metadataOf(context),
            })),
            { expectedRevision: entry.revision < 0n ? 'no_stream' : entry.revision },
          );
          remember(walletId, { state, revision: nextRevision });
        }
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
        current = true;
        continue;
      }
      // A replayed keyed command answers with the wallet as its first run left it.
      return Promise.all(
        results.map(async (result) => {
          if (!('replayOf' in result)) return result;
          try {
            const wallet =
              byRevision.get(result.replayOf) ??
              (await loadAsOf(walletId, { revision: result.replayOf }));
            return { wallet: wallet as Wallet, appended: [] };
          } catch (error) {
            return error as Error;
          }
        }),
      );
    }
  }

  /**
   * Decides and appends `command` for the wallet, its events carrying who asked and why
   * (`context`); see `drain` for how commands are batched.
   */
  function handle(
    walletId: string,
    command: WalletCommand,
    context?: CommandContext,
  ): Promise<CommandResult> {
    return enqueue(walletId, { command, context });
  }

  /** The wallet as the store has it now (a fresh read, so never stale); null if none. */
  async function load(walletId: string): Promise<WalletState> {
    // Behind commands in progress on the wallet, a read waits its turn and sees their outcome;
    // otherwise it reads the stream's tail at once (most reads: no queue to go through).
    if (!queues.has(walletId)) return (await catchUp(walletId, cache.get(walletId))).state;
    const { wallet } = await enqueue(walletId, { command: undefined });
    return wallet as WalletState;
  }

  /**
   * The wallet as it was: after the event at `revision`, or after the last event recorded at or
   * before `time`, folded from the start.
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
