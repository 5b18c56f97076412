// Projector lag, per event: from the moment an event was recorded (its `recorded_at`, the start of
// the appending transaction, so the append's own commit is included) to the moment the projector's
// batch holding it committed, as announced by the projector's NOTIFY and timestamped by the lag
// probe (lagProbe.ts). An event is visible once a batch with commit position >= its transaction id
// committed: positions are ordered by (transaction id, global position), so that holds for every
// event except one whose transaction a batch boundary split (then the figure is early by one batch).
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { percentile } from './measure.ts';
import { type Child, startNodeProcess } from './processes.ts';

export interface Notification {
  readonly atMs: number;
  readonly commit: bigint;
}

export interface LagProbe {
  readonly child: Child;
  /** Batch commits seen so far, in arrival order. */
  readonly notes: Notification[];
  /** Resolves at the first batch commit at or past `commit` (and says when it was seen). */
  reached(commit: bigint, timeoutMs: number): Promise<Notification>;
}

export async function startLagProbe(databaseUrl: string): Promise<LagProbe> {
  const child = startNodeProcess(
    'lag-probe',
    fileURLToPath(new URL('./lagProbe.ts', import.meta.url)),
    [],
    { env: { DATABASE_URL: databaseUrl } },
  );
  const notes: Notification[] = [];
  const waiters = new Set<(note: Notification) => void>();
  child.onLine((line) => {
    const match = /^notify (\S+) (\d+)$/.exec(line);
    if (!match) return;
    const note = { atMs: Number(match[1]), commit: BigInt(match[2] as string) };
    notes.push(note);
    for (const waiter of waiters) waiter(note);
  });
  await child.waitFor(/lag probe listening/);
  return {
    child,
    notes,
    reached(commit, timeoutMs) {
      const seen = notes.find((note) => note.commit >= commit);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = (note: Notification) => {
          if (note.commit < commit) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(note);
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`the projector did not reach commit ${commit} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
  };
}

/** The store's highest global position (everything at or below it was appended before). */
export async function maxPosition(pool: pg.Pool): Promise<bigint> {
  const { rows } = await pool.query<{ max: string }>(
    'select coalesce(max(global_position), 0)::text as max from events',
  );
  return BigInt(rows[0]?.max ?? '0');
}

/** Resolves once the projector has committed every event appended so far. */
export async function projectorCaughtUp(pool: pg.Pool, probe: LagProbe): Promise<void> {
  const { rows } = await pool.query<{ xid: string }>(
    'select transaction_id::text as xid from events order by global_position desc limit 1',
  );
  if (rows[0]) await probe.reached(BigInt(rows[0].xid), 60_000);
}

export interface LagFigures {
  readonly events: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Every event's lag, for combining windows. */
  readonly samples: number[];
}

/** The lag of every wallet event with a global position in (from, to]. */
export async function measureLag(
  pool: pg.Pool,
  probe: LagProbe,
  from: bigint,
  to: bigint,
): Promise<LagFigures> {
  const { rows } = await pool.query<{ xid: string; recorded: number }>(
    `select transaction_id::text as xid,
            (extract(epoch from recorded_at) * 1000)::float8 as recorded
     from events
     where global_position > $1 and global_position <= $2 and stream_id like 'wallet-%'`,
    [from.toString(), to.toString()],
  );
  if (rows.length === 0) return summarise([]);
  const events = rows.map((r) => ({ xid: BigInt(r.xid), recordedMs: r.recorded }));
  let last = 0n;
  for (const { xid } of events) if (xid > last) last = xid;
  await probe.reached(last, 60_000);
  // Commit positions only move forward; a running maximum keeps the search valid regardless.
  const notes = probe.notes.slice();
  const commits: bigint[] = [];
  let high = -1n;
  for (const note of notes) {
    if (note.commit > high) high = note.commit;
    commits.push(high);
  }
  const samples = events.map(({ xid, recordedMs }) => {
    let lo = 0;
    let hi = commits.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((commits[mid] as bigint) >= xid) hi = mid;
      else lo = mid + 1;
    }
    return (notes[lo] as Notification).atMs - recordedMs;
  });
  return summarise(samples);
}

export function summarise(samples: number[]): LagFigures {
  const sorted = samples.slice().sort((a, b) => a - b);
  return {
    events: sorted.length,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.at(-1) ?? Number.NaN,
    samples,
  };
}
