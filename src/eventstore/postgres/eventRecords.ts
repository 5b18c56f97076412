// Events go to PostgreSQL as one JSON document of records, taken apart by the statement. Sent as
// arrays of JSON texts instead, node-postgres escapes every quote of every event for the array
// literal (and PostgreSQL unescapes them): that cost the API more CPU per event than the rest of
// an append's encoding (figures in the README, "Performance").
import type { EventToAppend } from '../eventStore.ts';

export interface EventRecord {
  /** Absent where the statement names the one stream by itself. */
  readonly streamId?: string;
  /** The event's place in its append, from 1. */
  readonly ord: number;
  readonly event: EventToAppend;
}

/** The records as the JSON text `eventRecords` reads. */
export function eventRecordsJson(records: readonly EventRecord[]): string {
  return JSON.stringify(
    records.map(({ streamId, ord, event }) => ({
      stream_id: streamId,
      ord,
      id: event.id,
      type: event.type,
      data: event.data,
      metadata: event.metadata,
    })),
  );
}

/**
 * The records of the JSON text in parameter `$n`, as `e(stream_id, ord, id, type, data,
 * metadata)`. A field left out (undefined) is SQL NULL and JSON null stays JSON null, as each
 * was when sent on its own: no data is refused by the column, no metadata is NULL.
 */
export const eventRecords = (n: number) => `(
    select r->>'stream_id' as stream_id, (r->>'ord')::int as ord, (r->>'id')::uuid as id,
           r->>'type' as type, r->'data' as data, r->'metadata' as metadata
    from jsonb_array_elements($${n}::jsonb) as r
  ) as e`;
