import type pg from 'pg';
import type { Position, RecordedEvent } from '../eventStore.ts';
import { EVENT_COLUMNS, type EventRow, toRecordedEvent } from './eventRow.ts';

/**
 * Up to `limit` events strictly after `from`, in (transaction id, global position) order.
 *
 * Identity values are handed out before commit, so transactions commit out of position order and a
 * reader following `global_position` alone would skip a late committer. Reading only rows whose
 * transaction is older than every transaction still running (the snapshot's xmin) makes the visible
 * prefix final: nothing can later appear before the last row read.
 */
export async function readAll(
  pool: pg.Pool,
  from: Position,
  limit: number,
  streamPrefix?: string,
): Promise<RecordedEvent[]> {
  const { rows } = await pool.query<EventRow>({
    name: 'read-all',
    text: `select ${EVENT_COLUMNS} from events
     where (transaction_id, global_position) > ($1::xid8, $2::bigint)
       and transaction_id < pg_snapshot_xmin(pg_current_snapshot())
       and ($4::text is null or left(stream_id, length($4)) = $4)
     order by events.transaction_id, events.global_position
     limit $3`,
    values: [
      // START is (-1, -1); real transaction ids start at 3, so (0, 0) precedes every event.
      from.commit < 0n ? '0' : from.commit.toString(),
      from.prepare < 0n ? '0' : from.prepare.toString(),
      limit,
      streamPrefix ?? null,
    ],
  });
  return rows.map(toRecordedEvent);
}
