// The event store port: the one small interface both adapters (PostgreSQL, EventStoreDB) implement.
// Everything above it (command handling, projections, scheduler) only knows this file.

/**
 * A place in the global log. Opaque to callers except for ordering: compare with `comparePositions`.
 * PostgreSQL: commit = transaction id (xid8), prepare = global position.
 * EventStoreDB: its own commit/prepare positions.
 */
export interface Position {
  readonly commit: bigint;
  readonly prepare: bigint;
}

export const START: Position = Object.freeze({ commit: -1n, prepare: -1n });

export function comparePositions(a: Position, b: Position): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}

/** `no_stream`: the stream must not exist; a bigint: the revision of its last event; `any`: no check. */
export type ExpectedRevision = 'no_stream' | 'any' | bigint;

export interface EventToAppend {
  /** A UUID chosen by the writer: appending the same ids again is a no-op (idempotent re-append). */
  readonly id: string;
  readonly type: string;
  readonly data: unknown;
  readonly metadata?: Record<string, unknown>;
}

export interface RecordedEvent {
  readonly id: string;
  readonly streamId: string;
  /** 0-based position of the event inside its stream. */
  readonly revision: bigint;
  readonly position: Position;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: Record<string, unknown> | null;
  readonly recordedAt: Date;
}

export interface AppendResult {
  /** Revision of the stream's last event after the append. */
  readonly nextRevision: bigint;
  /** Global position of the last appended event. */
  readonly position: Position;
}

export interface ReadStreamOptions {
  /** First revision to return (inclusive). */
  readonly fromRevision?: bigint;
  readonly maxCount?: number;
}

export interface SubscribeOptions {
  /** Deliver events strictly after this position; `START` (default) replays everything. */
  readonly from?: Position;
  /** Stops the subscription: the iterator finishes. */
  readonly signal?: AbortSignal;
  /** Only streams whose id starts with this prefix (e.g. `wallet-`). */
  readonly streamPrefix?: string;
}

export interface EventStore {
  appendToStream(
    streamId: string,
    events: readonly EventToAppend[],
    options: { expectedRevision: ExpectedRevision },
  ): Promise<AppendResult>;
  /** Events of one stream in revision order; an unknown stream reads as empty. */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /** Up to `limit` events strictly after `from`, in global order. */
  readAll(from: Position, limit: number): Promise<RecordedEvent[]>;
  /** Catch-up from `from`, then live; every event exactly once, in global order. */
  subscribeToAll(options?: SubscribeOptions): AsyncIterable<RecordedEvent>;
  /**
   * The position of the newest event (of streams with this prefix; `START` when there is none):
   * every event appended before the call is at or before it, and a subscription from it delivers
   * every event appended after. Where live readers start, and what a read model must reach to
   * hold everything acknowledged so far.
   */
  headPosition(streamPrefix?: string): Promise<Position>;
  close(): Promise<void>;
}

export class WrongExpectedVersionError extends Error {
  override readonly name = 'WrongExpectedVersionError';
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    /** The stream's actual revision, or `no_stream`. */
    readonly actual: bigint | 'no_stream',
  ) {
    super(`Stream ${streamId}: expected revision ${String(expected)}, actual ${String(actual)}`);
  }
}
