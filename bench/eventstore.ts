// The event store's append rate beside the same PostgreSQL's raw single-row INSERT commit rate:
// one append is one commit, so the INSERT rate is its ceiling.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { openPostgresEventStore } from '../src/eventstore/postgres/index.ts';
import { type Measurement, measure } from './measure.ts';

export interface AppendFigures {
  readonly concurrency: number;
  readonly insert: Measurement;
  readonly append: Measurement;
}

export async function benchAppends(
  pool: pg.Pool,
  { durationMs, concurrencies }: { durationMs: number; concurrencies: readonly number[] },
): Promise<AppendFigures[]> {
  const store = await openPostgresEventStore(pool);
  await pool.query(
    'create table if not exists bench_insert (id bigserial primary key, data jsonb)',
  );
  const figures: AppendFigures[] = [];
  for (const concurrency of concurrencies) {
    const insert = await measure(durationMs, concurrency, () =>
      pool.query({
        name: 'bench-insert',
        text: 'insert into bench_insert (data) values ($1)',
        values: ['{"amount":"1.00"}'],
      }),
    );
    // Each writer appends to its own streams with the revision it knows: no conflicts, one commit each.
    const revisions = new Map<number, bigint>();
    const streams = Array.from({ length: concurrency }, () => `bench-${randomUUID()}`);
    const append = await measure(durationMs, concurrency, async (worker) => {
      const revision = revisions.get(worker);
      const { nextRevision } = await store.appendToStream(
        streams[worker] as string,
        [{ id: randomUUID(), type: 'Deposited', data: { amount: '1.00' } }],
        { expectedRevision: revision ?? 'no_stream' },
      );
      revisions.set(worker, nextRevision);
    });
    figures.push({ concurrency, insert, append });
  }
  await pool.query('drop table bench_insert');
  return figures;
}
