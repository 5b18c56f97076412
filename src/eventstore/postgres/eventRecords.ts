// Events go to PostgreSQL as one JSON document of records, read back with jsonb_to_recordset.
// Sent as arrays of JSON texts instead, node-postgres escapes every quote of every event for the
// array literal (and PostgreSQL unescapes them): that cost the API more CPU per event than the
// rest of an append's encoding (figures in the README, "Performance").
import type { EventToAppend } from '../eventStore.ts';

export interface EventRecord {
  /** Absent where the statement names the one stream by itself. */
  readonly streamId?: string;
  /** The event's place in its append, from 1. */
  readonly ord: number;
  readonly event: EventToAppend;
}

/** The records as the JSON text `EVENT_RECORDS` reads. */
export function eventRecordsJson(records: readonly EventRecord[]): string {
  return JSON.stringify(
    records.map(({ streamId, ord, event }) => ({
      stream_id: streamId,
      ord,
      id: event.id,
      type: event.type,
      // JSON null (or undefined, written as null) is SQL NULL in the record: `data` is put back
      // to JSON null below, as the column always held it; absent metadata stays SQL NULL.
      data: event.data ?? null,
      metadata: event.metadata ?? null,
    })),
  );
}

/** The records of the JSON text in parameter `$n`, as `e(stream_id, ord, id, type, data,
 * metadata)` (data JSON, never SQL NULL). */
export const eventRecords = (n: number) => `(
    select r.stream_id, r.ord, r.id, r.type, coalesce(r.data, 'null'::jsonb) as data, r.metadata
    from jsonb_to_recordset($${n}::jsonb)
      as r(stream_id text, ord int, id uuid, type text, data jsonb, metadata jsonb)
  ) as e`;
