// Stream reads across streams: reads that arrive while an earlier one is in flight go together as
// one statement. Most reads of a served wallet find nothing new (the API's fold is current), so a
// read is mostly a statement's fixed cost, which a group pays once. A read queued behind another
// still starts after its request arrived: it sees every append committed before that.
import type pg from 'pg';
import type { ReadStreamOptions, RecordedEvent } from '../eventStore.ts';
import { EVENT_COLUMNS, type EventRow, toRecordedEvent } from './eventRow.ts';
import { readStream } from './readStream.ts';
import { type GroupOptions, statementGroups } from './statementGroups.ts';

interface Request {
  readonly streamId: string;
  readonly options: ReadStreamOptions | undefined;
  resolve(events: RecordedEvent[]): void;
  reject(error: unknown): void;
}

/** Each request's events (its index in the group, then revision order); no limit when null. */
const READ_GROUP = `
  select q.idx::int as idx, e.*
  from unnest($1::text[], $2::bigint[], $3::int[]) with ordinality as q(stream_id, from_revision, max_count, idx)
  cross join lateral (
    select ${EVENT_COLUMNS}, events.stream_revision as revision_order from events
    where events.stream_id = q.stream_id and events.stream_revision >= q.from_revision
    order by events.stream_revision
    limit q.max_count
  ) e
  order by q.idx, e.revision_order`;

export function createReadGroup(pool: pg.Pool, options: GroupOptions = {}) {
  const single = (r: Request) => readStream(pool, r.streamId, r.options).then(r.resolve, r.reject);

  async function send(group: Request[]) {
    if (group.length === 1) return single(group[0] as Request);
    let rows: (EventRow & { idx: number })[];
    try {
      ({ rows } = await pool.query({
        name: 'read-group',
        text: READ_GROUP,
        values: [
          group.map((r) => r.streamId),
          group.map((r) => (r.options?.fromRevision ?? 0n).toString()),
          group.map((r) => r.options?.maxCount ?? null),
        ],
      }));
    } catch {
      // Each read on its own then meets only its own outcome (a lost connection, a bad argument).
      return Promise.all(group.map(single));
    }
    const events = group.map((): RecordedEvent[] => []);
    for (const row of rows) events[row.idx - 1]?.push(toRecordedEvent(row));
    for (const [i, request] of group.entries()) request.resolve(events[i] as RecordedEvent[]);
  }

  const enqueue = statementGroups(send, options);
  return (streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> =>
    new Promise((resolve, reject) => enqueue({ streamId, options, resolve, reject }));
}
