// Group commit across streams: appends that arrive while an earlier one is in flight go together
// as one statement and one commit, one statement in flight at a time (measured best: the figures
// are in the README, "Performance").
import type pg from 'pg';
import {
  type AppendResult,
  type EventToAppend,
  type ExpectedRevision,
  WrongExpectedVersionError,
} from '../eventStore.ts';
import { appendToStream } from './appendToStream.ts';
import { eventRecords, eventRecordsJson } from './eventRecords.ts';
import { type GroupOptions, statementGroups } from './statementGroups.ts';

interface Request {
  readonly streamId: string;
  readonly events: readonly EventToAppend[];
  readonly expectedRevision: ExpectedRevision;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

/**
 * The rows of the group's streams are locked in stream id order (two groups never deadlock);
 * each stream's expectation is checked on its own, and a stream that fails it is skipped, not the
 * group. Expected revision codes: -1 no stream, -2 any, otherwise the revision. A stream not
 * appended comes back with its current revision, and whether it may be a repeat of an append made
 * before, so a plain conflict needs no further round trip.
 */
const APPEND_GROUP = `
  with input as (
    select * from unnest($1::text[], $2::bigint[], $3::int[], $5::uuid[])
      with ordinality as i(stream_id, expected, n, first_id, idx)
  ),
  locked as (
    select s.stream_id, s.revision from streams s
    where s.stream_id = any($1::text[]) order by s.stream_id for update
  ),
  holds as (
    select i.stream_id, i.n, l.revision as current from input i join locked l using (stream_id)
    where i.expected = l.revision or i.expected = -2
  ),
  updated as (
    update streams s set revision = holds.current + holds.n from holds
    where s.stream_id = holds.stream_id returning s.stream_id, s.revision
  ),
  created as (
    insert into streams (stream_id, revision)
    select i.stream_id, i.n - 1 from input i
    where i.expected in (-1, -2) and not exists (select 1 from locked l where l.stream_id = i.stream_id)
    on conflict (stream_id) do nothing
    returning stream_id, revision
  ),
  appended as (select stream_id, revision from updated union all select stream_id, revision from created),
  inserted as (
    insert into events (stream_id, stream_revision, event_id, event_type, data, metadata)
    select e.stream_id, a.revision - i.n + e.ord, e.id, e.type, e.data, e.metadata
    from ${eventRecords(4)}
    join appended a using (stream_id) join input i using (stream_id)
    -- Positions are handed out in this order: a stream's events must get them in revision order.
    order by i.idx, e.ord
    returning stream_id, global_position
  )
  select i.idx::int as idx, a.revision::text as appended,
         (select max(x.global_position) from inserted x where x.stream_id = i.stream_id)::text as prepare,
         pg_current_xact_id()::text as commit,
         l.revision::text as current,
         -- Not appended, and maybe a repeat: its first event is stored, or the stream moved while
         -- this statement waited for its row (events this statement's snapshot cannot see).
         case when a.stream_id is null
              then l.revision is distinct from (select s.revision from streams s where s.stream_id = i.stream_id)
                   or exists (select 1 from events ev where ev.event_id = i.first_id) end as unsure
  from input i left join appended a using (stream_id) left join locked l using (stream_id)`;

const EXPECTED_CODE = { no_stream: -1n, any: -2n } as const;

export function createAppendGroup(pool: pg.Pool, options: GroupOptions = {}) {
  const single = (r: Request) =>
    appendToStream(pool, r.streamId, r.events, r).then(r.resolve, r.reject);

  async function send(group: Request[]) {
    if (group.length === 1) return single(group[0] as Request);
    let rows: {
      idx: number;
      appended: string | null;
      prepare: string | null;
      commit: string;
      current: string | null;
      unsure: boolean | null;
    }[];
    try {
      ({ rows } = await pool.query({
        name: 'append-group',
        text: APPEND_GROUP,
        values: parameters(group),
      }));
    } catch {
      // One append can fail the whole statement: an event id used before (an idempotent
      // re-append, which the single-stream path tells from a misuse), data PostgreSQL refuses, a
      // lost connection (the event ids make a repeat of a committed append a no-op). Each append
      // then goes on its own and meets only its own outcome.
      return Promise.all(group.map(single));
    }
    const unsure: Request[] = [];
    for (const row of rows) {
      const request = group[row.idx - 1] as Request;
      if (row.appended !== null) {
        request.resolve({
          nextRevision: BigInt(row.appended),
          position: { commit: BigInt(row.commit), prepare: BigInt(row.prepare as string) },
        });
      } else if (row.unsure || row.current === null) {
        // Maybe a repeat of an append already made (an idempotent re-append), or a stream that
        // another writer created meanwhile: the single-stream path tells these apart.
        unsure.push(request);
      } else {
        request.reject(
          new WrongExpectedVersionError(
            request.streamId,
            request.expectedRevision,
            BigInt(row.current),
          ),
        );
      }
    }
    await Promise.all(unsure.map(single));
  }
  // One append per stream in a group: a second one waits for the next.
  const enqueue = statementGroups(send, options, (r: Request) => r.streamId);

  return function append(
    streamId: string,
    events: readonly EventToAppend[],
    { expectedRevision }: { expectedRevision: ExpectedRevision },
  ): Promise<AppendResult> {
    if (events.length === 0) {
      return Promise.reject(new Error('appendToStream needs at least one event'));
    }
    return new Promise((resolve, reject) => {
      enqueue({ streamId, events, expectedRevision, resolve, reject });
    });
  };
}

function parameters(group: readonly Request[]): unknown[] {
  const records = group.flatMap((r) =>
    r.events.map((event, i) => ({ streamId: r.streamId, ord: i + 1, event })),
  );
  return [
    group.map((r) => r.streamId),
    group.map((r) =>
      (typeof r.expectedRevision === 'bigint'
        ? r.expectedRevision
        : EXPECTED_CODE[r.expectedRevision]
      ).toString(),
    ),
    group.map((r) => r.events.length),
    eventRecordsJson(records),
    group.map((r) => (r.events[0] as EventToAppend).id),
  ];
}
