import type pg from 'pg';
import {
  type AppendResult,
  type EventToAppend,
  type ExpectedRevision,
  WrongExpectedVersionError,
} from '../eventStore.ts';
import { eventRecords, eventRecordsJson } from './eventRecords.ts';

// One statement, so one round trip and one commit per append. The `stream` CTE moves the stream's
// revision forward only if the expectation holds; when it returns no row, no event is inserted.
const CLAIM_REVISIONS = {
  no_stream: `insert into streams (stream_id, revision) values ($1, $2 - 1)
              on conflict (stream_id) do nothing returning revision`,
  any: `insert into streams (stream_id, revision) values ($1, $2 - 1)
        on conflict (stream_id) do update set revision = streams.revision + $2 returning revision`,
  exact: `update streams set revision = revision + $2
          where stream_id = $1 and revision = $4 returning revision`,
};

const insertEvents = (claim: string) => `
  with stream as (${claim})
  insert into events (stream_id, stream_revision, event_id, event_type, data, metadata)
  select $1, stream.revision - $2 + e.ord, e.id, e.type, e.data, e.metadata
  from stream,
       ${eventRecords(3)}
  order by e.ord
  returning stream_revision::text as revision, transaction_id::text as commit,
            global_position::text as prepare`;

const SQL = {
  no_stream: insertEvents(CLAIM_REVISIONS.no_stream),
  any: insertEvents(CLAIM_REVISIONS.any),
  exact: insertEvents(CLAIM_REVISIONS.exact),
};

const UNIQUE_VIOLATION = '23505';

export async function appendToStream(
  pool: pg.Pool,
  streamId: string,
  events: readonly EventToAppend[],
  { expectedRevision }: { expectedRevision: ExpectedRevision },
): Promise<AppendResult> {
  if (events.length === 0) throw new Error('appendToStream needs at least one event');
  const kind = typeof expectedRevision === 'bigint' ? 'exact' : expectedRevision;
  const params: unknown[] = [
    streamId,
    events.length,
    eventRecordsJson(events.map((event, i) => ({ ord: i + 1, event }))),
  ];
  if (typeof expectedRevision === 'bigint') params.push(expectedRevision.toString());
  let rows: { revision: string; commit: string; prepare: string }[];
  try {
    ({ rows } = await pool.query({ name: `append-${kind}`, text: SQL[kind], values: params }));
  } catch (error) {
    if ((error as { code?: string }).code !== UNIQUE_VIOLATION) throw error;
    // An event id already stored: either this exact append was done before, or it is a misuse.
    const replay = await findPreviousAppend(pool, streamId, events, expectedRevision);
    if (replay) return replay;
    throw new Error(
      `Stream ${streamId}: event ids already used by other events (${(error as Error).message})`,
    );
  }
  const last = rows.at(-1);
  if (last) {
    return {
      nextRevision: BigInt(last.revision),
      position: { commit: BigInt(last.commit), prepare: BigInt(last.prepare) },
    };
  }
  const replay = await findPreviousAppend(pool, streamId, events, expectedRevision);
  if (replay) return replay;
  throw new WrongExpectedVersionError(
    streamId,
    expectedRevision,
    await currentRevision(pool, streamId),
  );
}

/**
 * Idempotent re-append (as EventStoreDB does it): the same event ids, in the same order, already
 * written right where this append expected to write them, make this append a no-op success.
 */
async function findPreviousAppend(
  pool: pg.Pool,
  streamId: string,
  events: readonly EventToAppend[],
  expectedRevision: ExpectedRevision,
): Promise<AppendResult | undefined> {
  const { rows } = await pool.query<{
    event_id: string;
    stream_id: string;
    revision: string;
    commit: string;
    prepare: string;
  }>(
    `select event_id, stream_id, stream_revision::text as revision,
            transaction_id::text as commit, global_position::text as prepare
     from events where event_id = any($1::uuid[]) order by events.stream_revision`,
    [events.map((e) => e.id)],
  );
  if (rows.length !== events.length) return undefined;
  const first = BigInt(rows[0]?.revision ?? '-1');
  const expectedFirst =
    expectedRevision === 'no_stream'
      ? 0n
      : expectedRevision === 'any'
        ? first
        : expectedRevision + 1n;
  const sameAppend = rows.every(
    (row, i) =>
      row.stream_id === streamId &&
      row.event_id === events[i]?.id.toLowerCase() &&
      BigInt(row.revision) === expectedFirst + BigInt(i),
  );
  const last = rows.at(-1);
  if (!sameAppend || !last) return undefined;
  return {
    nextRevision: BigInt(last.revision),
    position: { commit: BigInt(last.commit), prepare: BigInt(last.prepare) },
  };
}

async function currentRevision(pool: pg.Pool, streamId: string): Promise<bigint | 'no_stream'> {
  const { rows } = await pool.query<{ revision: string }>(
    'select revision::text as revision from streams where stream_id = $1',
    [streamId],
  );
  return rows[0] ? BigInt(rows[0].revision) : 'no_stream';
}
