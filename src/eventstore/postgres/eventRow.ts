import type { RecordedEvent } from '../eventStore.ts';

/** The columns every read selects; bigints and xid8 come back as text and are parsed exactly. */
export const EVENT_COLUMNS = `
  event_id, stream_id, stream_revision::text as stream_revision, transaction_id::text as transaction_id,
  global_position::text as global_position, event_type, data, metadata, recorded_at`;

export interface EventRow {
  event_id: string;
  stream_id: string;
  stream_revision: string;
  transaction_id: string;
  global_position: string;
  event_type: string;
  data: unknown;
  metadata: Record<string, unknown> | null;
  recorded_at: Date;
}

export function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    id: row.event_id,
    streamId: row.stream_id,
    revision: BigInt(row.stream_revision),
    position: { commit: BigInt(row.transaction_id), prepare: BigInt(row.global_position) },
    type: row.event_type,
    data: row.data,
    metadata: row.metadata,
    recordedAt: row.recorded_at,
  };
}
