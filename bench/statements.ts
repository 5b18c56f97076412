// `--pg-stats`: where PostgreSQL's time goes, per statement, from pg_stat_statements (the cluster
// then starts with it preloaded). Each section starts from zero and keeps its top statements.
import type pg from 'pg';

export const PG_STATS_SETTINGS = {
  shared_preload_libraries: 'pg_stat_statements',
  'pg_stat_statements.track': 'all',
  'pg_stat_statements.track_planning': 'on',
};

export interface StatementFigure {
  readonly query: string;
  readonly calls: number;
  readonly rows: number;
  /** Planning and execution together, ms. */
  readonly totalMs: number;
  readonly meanMs: number;
  readonly walBytes: number;
}

export async function resetStatements(pool: pg.Pool): Promise<void> {
  await pool.query('create extension if not exists pg_stat_statements');
  await pool.query('select pg_stat_statements_reset()');
}

/** The `top` statements by total time since the last reset, in the pool's database. */
export async function topStatements(pool: pg.Pool, top = 12): Promise<StatementFigure[]> {
  const { rows } = await pool.query<{
    query: string;
    calls: string;
    rows: string;
    total: number;
    wal: string;
  }>(
    `select regexp_replace(query, '\\s+', ' ', 'g') as query, calls, rows, wal_bytes as wal,
            total_exec_time + total_plan_time as total
     from pg_stat_statements where dbid = (select oid from pg_database where datname = current_database())
     order by total desc limit $1`,
    [top],
  );
  return rows.map((r) => ({
    query: r.query.length > 160 ? `${r.query.slice(0, 157)}...` : r.query,
    calls: Number(r.calls),
    rows: Number(r.rows),
    totalMs: r.total,
    meanMs: r.total / Math.max(1, Number(r.calls)),
    walBytes: Number(r.wal),
  }));
}
