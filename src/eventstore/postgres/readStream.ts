import type pg from 'pg';
import type { ReadStreamOptions, RecordedEvent } from '../eventStore.ts';
import { EVENT_COLUMNS, type EventRow, toRecordedEvent } from './eventRow.ts';

export async function readStream(
  pool: pg.Pool,
  streamId: string,
  { fromRevision = 0n, maxCount }: ReadStreamOptions = {},
): Promise<RecordedEvent[]> {
  const { rows } = await pool.query<EventRow>({
    name: 'read-stream',
    text: `select ${EVENT_COLUMNS} from events
     where stream_id = $1 and stream_revision >= $2
     order by events.stream_revision
     limit $3`,
    values: [streamId, fromRevision.toString(), maxCount ?? null],
  });
  return rows.map(toRecordedEvent);
}
