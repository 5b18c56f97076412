import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { type Position, START } from '../eventStore.ts';

/**
 * The position of the newest event (of streams with `streamPrefix`) once every transaction that
 * had a transaction id at the call has ended. Then both halves of the port's promise hold: every
 * event appended before the call is at or before it, and none can still commit behind it (a later
 * writer's transaction id is above every visible row's), so a subscription from it delivers
 * exactly what comes later. The wait is as long as the longest transaction already running,
 * usually a few milliseconds. The call's own transaction id is the mark: a snapshot's xmax is only
 * the newest completed id plus one, and running transactions may lie above it.
 */
export async function headPosition(
  pool: pg.Pool,
  streamPrefix: string | undefined,
  { pollMs = 5, timeoutMs = 10_000 } = {},
): Promise<Position> {
  const { rows } = await pool.query<{ mark: string }>({
    name: 'head-mark',
    text: 'select pg_current_xact_id()::text as mark',
  });
  const mark = rows[0]?.mark as string;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows: head } = await pool.query<{
      settled: boolean;
      commit: string | null;
      prepare: string | null;
    }>({
      name: 'head-position',
      text: `with s as (select pg_current_snapshot() as snap)
             select pg_snapshot_xmin(s.snap) >= $1::xid8 as settled,
                    e.transaction_id::text as commit, e.global_position::text as prepare
             from s left join lateral (
               select transaction_id, global_position from events
               where transaction_id < pg_snapshot_xmin(s.snap)
                 and ($2::text is null or left(stream_id, length($2)) = $2)
               order by transaction_id desc, global_position desc
               limit 1) e on true`,
      values: [mark, streamPrefix ?? null],
    });
    const row = head[0];
    if (row?.settled) {
      return row.commit === null || row.prepare === null
        ? START
        : { commit: BigInt(row.commit), prepare: BigInt(row.prepare) };
    }
    if (Date.now() > deadline) {
      throw new Error(
        `A transaction has been running for over ${timeoutMs} ms: the head of the event log cannot be told yet.`,
      );
    }
    await sleep(pollMs);
  }
}
