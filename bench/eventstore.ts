// The event store's append rate beside the same PostgreSQL's raw single-row INSERT commit rate:
// one append is one commit, so the INSERT rate is its ceiling (and the ceiling of any command that
// costs one commit, see ceilings.ts).
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { EventStore } from '../src/eventstore/eventStore.ts';
import { type Measurement, measure } from './measure.ts';

export interface AppendFigures {
  readonly concurrency: number;
  readonly insert: Measurement;
  readonly append: Measurement;
}

/** Single-row INSERT commits (autocommit, one round trip each) by `concurrency` connections. */
export async function measureInsertCommits(
  pool: pg.Pool,
  durationMs: number,
  concurrency: number,
): Promise<Measurement> {
  await pool.query(
    'create table if not exists bench_insert (id bigserial primary key, data jsonb)',
  );
  const insert = () =>
    pool.query({
      name: 'bench-insert',
      text: 'insert into bench_insert (data) values ($1)',
      values: ['{"amount":"1.00"}'],
    });
  try {
    // Open the connections and prepare the statement first: neither belongs in the figure.
    await measure(Math.min(500, durationMs / 5), concurrency, insert);
    return await measure(durationMs, concurrency, insert);
  } finally {
    await pool.query('drop table bench_insert');
  }
}

/** Appends of one event each, every writer on its own stream: no conflicts, one commit each. */
export async function benchAppends(
  store: EventStore,
  { durationMs, inserts }: { durationMs: number; inserts: ReadonlyMap<number, Measurement> },
): Promise<AppendFigures[]> {
  const figures: AppendFigures[] = [];
  for (const [concurrency, insert] of inserts) {
    const revisions = new Map<number, bigint>();
    const streams = Array.from({ length: concurrency }, () => `bench-${randomUUID()}`);
    const appendOne = async (worker: number) => {
      const revision = revisions.get(worker);
      const { nextRevision } = await store.appendToStream(
        streams[worker] as string,
        [{ id: randomUUID(), type: 'Deposited', data: { amount: '1.00' } }],
        { expectedRevision: revision ?? 'no_stream' },
      );
      revisions.set(worker, nextRevision);
    };
    await measure(Math.min(500, durationMs / 5), concurrency, appendOne);
    const append = await measure(durationMs, concurrency, appendOne);
    figures.push({ concurrency, insert, append });
  }
  return figures;
}
