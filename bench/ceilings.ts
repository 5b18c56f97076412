// Ceilings, measured in the same run as the figures they bound:
// * single-row INSERT commits per second of the same PostgreSQL, at each command concurrency: a
//   command that costs one commit cannot go faster;
// * one-event append commits per second (pgbench-shaped: each transaction appends one event at its
//   stream's next revision): what a store without group commit could do per command;
// * a no-op Fastify POST over HTTP (its own process, JSON body parsed, small JSON answer), loaded
//   by the same generator at the same concurrencies: the HTTP limit of this machine.
import { fileURLToPath } from 'node:url';
import type { Context } from './context.ts';
import { type AppendCeiling, measureAppendCommits, measureInsertCommits } from './eventstore.ts';
import { type LoadResult, runLoad } from './load.ts';
import type { Measurement } from './measure.ts';
import { startNodeProcess } from './processes.ts';

export interface Ceilings {
  readonly insert: Map<number, Measurement>;
  readonly append: Map<number, AppendCeiling>;
  readonly http: Map<number, LoadResult>;
}

export const DEPOSIT_BODY = JSON.stringify({ amount: '1.00' });

export async function benchCeilings(
  ctx: Context,
  { insertAt, httpAt }: { insertAt: readonly number[]; httpAt: readonly number[] },
): Promise<Ceilings> {
  const insert = new Map<number, Measurement>();
  for (const concurrency of insertAt) {
    ctx.progress(`INSERT commits, ${concurrency} connections`);
    insert.set(concurrency, await measureInsertCommits(ctx.pool, ctx.sizes.ceilingMs, concurrency));
  }
  const append = new Map<number, AppendCeiling>();
  for (const concurrency of insertAt) {
    ctx.progress(`one-event append commits (pgbench-shaped), ${concurrency} clients`);
    append.set(
      concurrency,
      await measureAppendCommits(ctx.pool, ctx.databaseUrl, ctx.sizes.ceilingMs, concurrency),
    );
  }
  const server = startNodeProcess(
    'noop',
    fileURLToPath(new URL('./noopServer.ts', import.meta.url)),
    [],
  );
  const http = new Map<number, LoadResult>();
  try {
    const [, url] = await server.waitFor(/noop listening at (\S+)/);
    const load = (connections: number, durationMs: number) =>
      runLoad({
        url: url as string,
        connections,
        durationMs,
        method: 'POST',
        path: '/noop',
        body: DEPOSIT_BODY,
      });
    if (ctx.sizes.warmupMs > 0) await load(16, ctx.sizes.warmupMs);
    for (const connections of httpAt) {
      ctx.progress(`no-op HTTP POST, ${connections} clients`);
      http.set(connections, await load(connections, ctx.sizes.ceilingMs));
    }
  } finally {
    await server.stop();
  }
  return { insert, append, http };
}
