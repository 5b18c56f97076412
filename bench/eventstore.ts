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

/** How the one-event append ceiling was measured. */
export type AppendCeiling = Measurement & { readonly tool: 'pgbench' | 'node-postgres' };

const APPEND_TABLE = `create table if not exists bench_events (
  global_position bigint generated always as identity primary key,
  stream_id text not null,
  stream_revision bigint not null,
  event_id uuid not null unique,
  data jsonb not null,
  unique (stream_id, stream_revision))`;

// One transaction = one event appended at the stream's next revision, each client on streams of
// its own (pgbench's :client_id): the shape of a store without group commit.
const APPEND_SQL = (stream: string) =>
  `insert into bench_events (stream_id, stream_revision, event_id, data)
   select ${stream}, coalesce(max(stream_revision), -1) + 1, gen_random_uuid(), '{"amount": "1.00"}'
   from bench_events where stream_id = ${stream}`;

/**
 * The one-commit-per-command ceiling: `concurrency` clients, each transaction one event appended
 * with `coalesce(max(stream_revision), -1) + 1` on a table with a unique (stream, revision) and a
 * unique event id, on this very server (same settings, fsync on). Measured by pgbench when it is
 * installed (no client cost on our side of the cores), else by node-postgres the same way.
 */
export async function measureAppendCommits(
  pool: pg.Pool,
  databaseUrl: string,
  durationMs: number,
  concurrency: number,
): Promise<AppendCeiling> {
  await pool.query(APPEND_TABLE);
  try {
    const byPgbench = await pgbench(databaseUrl, durationMs, concurrency);
    if (byPgbench) return { ...byPgbench, tool: 'pgbench' };
    const append = (worker: number) =>
      pool.query({
        name: 'bench-append',
        text: APPEND_SQL(`'c' || $1::text || '-' || floor(random() * 4)::text`),
        values: [worker],
      });
    await measure(Math.min(500, durationMs / 5), concurrency, append);
    return { ...(await measure(durationMs, concurrency, append)), tool: 'node-postgres' };
  } finally {
    await pool.query('drop table bench_events');
  }
}

async function pgbench(
  databaseUrl: string,
  durationMs: number,
  concurrency: number,
): Promise<Measurement | undefined> {
  const { execFile } = await import('node:child_process');
  const { mkdtemp, rm, writeFile } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const dir = await mkdtemp(path.join(tmpdir(), 'bench-pgbench-'));
  try {
    const script = path.join(dir, 'append.sql');
    await writeFile(
      script,
      `\\set s random(0, 3)\n${APPEND_SQL(`'c' || :client_id || '-' || :s`).replace(/\s+/g, ' ')};\n`,
    );
    const url = new URL(databaseUrl);
    const output = await new Promise<string | undefined>((resolve) => {
      execFile(
        'pgbench',
        [
          '--no-vacuum',
          '--protocol=prepared',
          `--client=${concurrency}`,
          `--jobs=${Math.min(2, concurrency)}`,
          `--time=${Math.max(1, Math.round(durationMs / 1000))}`,
          '--file',
          script,
          '--host',
          url.hostname,
          '--port',
          url.port,
          '--username',
          decodeURIComponent(url.username),
          url.pathname.slice(1),
        ],
        { env: { ...process.env, PGPASSWORD: decodeURIComponent(url.password) } },
        (error, stdout) => resolve(error ? undefined : stdout),
      );
    });
    const tps = output && /tps = ([\d.]+)/.exec(output)?.[1];
    const latency = output && /latency average = ([\d.]+) ms/.exec(output)?.[1];
    const transactions = output && /number of transactions actually processed: (\d+)/.exec(output);
    if (!tps) return undefined;
    return {
      operations: Number(transactions?.[1] ?? 0),
      perSecond: Number(tps),
      // pgbench reports the mean: no percentiles without a per-transaction log.
      p50Ms: Number(latency ?? Number.NaN),
      p99Ms: Number.NaN,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
