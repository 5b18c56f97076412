import type {
  Position as EsdbPosition,
  RecordedEvent as EsdbRecordedEvent,
  ReadPosition,
  ResolvedEvent,
  StreamingRead,
} from '@eventstore/db-client';
import { type Position, type RecordedEvent, START } from '../eventStore.ts';

/** Our `START` (anything before the first event) is EventStoreDB's `start`; others map as is. */
export function toReadPosition(position: Position): ReadPosition {
  return position.commit < 0n || position.prepare < 0n
    ? 'start'
    : { commit: position.commit, prepare: position.prepare };
}

/**
 * EventStoreDB's own events: `$`-prefixed event types (`$metadata`, `$>` links, `$statsCollected`)
 * and `$`-prefixed streams (`$stats-…`, `$$wallet-…` metadata streams, `$ce-…` projections).
 */
export function isSystemEvent(event: {
  readonly streamId: string;
  readonly type: string;
}): boolean {
  return event.type.startsWith('$') || event.streamId.startsWith('$');
}

/**
 * Every event of a read, read to the end: a call left with unread data never finishes, and the
 * client's `dispose()` waits for it forever.
 */
export async function collectEvents(
  read: StreamingRead<ResolvedEvent>,
): Promise<EsdbRecordedEvent[]> {
  const events: EsdbRecordedEvent[] = [];
  for await (const resolved of read) if (resolved.event) events.push(resolved.event);
  return events;
}

export function toPosition(position: EsdbPosition | undefined): Position {
  return position ? { commit: position.commit, prepare: position.prepare } : START;
}

export function toRecordedEvent(event: EsdbRecordedEvent): RecordedEvent {
  const { metadata } = event;
  return {
    id: event.id,
    streamId: event.streamId,
    revision: event.revision,
    position: toPosition(event.position),
    type: event.type,
    data: event.data,
    // JSON metadata arrives parsed; binary (non-JSON) metadata is not ours: no metadata.
    metadata:
      metadata && typeof metadata === 'object' && !(metadata instanceof Uint8Array)
        ? (metadata as Record<string, unknown>)
        : null,
    recordedAt: event.created,
  };
}
