// Stream reads across streams: reads that arrive while an earlier one is in flight go together as
// one statement. Most reads of a served wallet find nothing new (the API's fold is current), so a
// read is mostly a statement's fixed cost, which a group pays once. A read queued behind another
// still starts after its request arrived: it sees every append committed before that.
// A statement fetches at most PAGE events of each read, so one long stream never holds up the
// others: a read that filled its page reads the rest on its own, outside the group's slot.
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

/** Events of one read fetched by a group's statement, at most. */
const PAGE = 100;

/** Each request's events (its index in the group, then revision order). */
const READ_GROUP = `
  select q.idx::int as idx, e.*
  from unnest($1::text[], $2::bigint[], $3::int8[]) with ordinality as q(stream_id, from_revision, max_count, idx)
  cross join lateral (
    select ${EVENT_COLUMNS}, events.stream_revision as revision_order from events
    where events.stream_id = q.stream_id and events.stream_revision >= q.from_revision
    order by events.stream_revision
    limit q.max_count
  ) e
  order by q.idx, e.revision_order`;

const pageOf = ({ maxCount }: ReadStreamOptions = {}) => Math.min(maxCount ?? PAGE, PAGE);

export function createReadGroup(pool: pg.Pool, options: GroupOptions = {}) {
  /** The rest of a read after its first page: on its own, so the slot is free meanwhile. */
  const finish = (request: Request, page: RecordedEvent[]) => {
    const { maxCount } = request.options ?? {};
    const last = page.at(-1);
    if (page.length < PAGE || !last || maxCount === PAGE) return request.resolve(page);
    readStream(pool, request.streamId, {
      fromRevision: last.revision + 1n,
      maxCount: maxCount === undefined ? undefined : maxCount - PAGE,
    }).then((rest) => request.resolve(page.concat(rest)), request.reject);
  };

  const single = (r: Request) =>
    readStream(pool, r.streamId, { ...r.options, maxCount: pageOf(r.options) }).then(
      (page) => finish(r, page),
      r.reject,
    );

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
          group.map((r) => pageOf(r.options)),
        ],
      }));
    } catch {
      // Each read on its own then meets only its own outcome (a lost connection, a bad argument).
      return Promise.all(group.map(single));
    }
    const pages = group.map((): RecordedEvent[] => []);
    for (const row of rows) pages[row.idx - 1]?.push(toRecordedEvent(row));
    for (const [i, request] of group.entries()) finish(request, pages[i] as RecordedEvent[]);
  }

  const enqueue = statementGroups(send, options);
  return (streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> =>
    new Promise((resolve, reject) => enqueue({ streamId, options, resolve, reject }));
}
