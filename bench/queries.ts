// Queries: GET /api/wallets/<id>/ (the read model's wallet row and its withdrawals/transfers),
// closed loop at 32 clients, (a) a random wallet of the many per request, (b) the hot wallet,
// which by now holds every deposit of the hot-wallet runs.
import type { Context } from './context.ts';
import { type LoadResult, runLoad } from './load.ts';
import type { CpuFigures, Stack } from './stack.ts';

export interface QueryFigure {
  readonly target: string;
  readonly load: LoadResult & CpuFigures;
}

export async function benchQueries(
  ctx: Context,
  stack: Stack,
  { wallets, hotWallet, clients }: { wallets: string[]; hotWallet: string; clients: number },
): Promise<QueryFigure[]> {
  const anyWallet = wallets.map((wallet) => `/api/wallets/${wallet}/`);
  const load = (path: string | readonly string[], durationMs: number) =>
    runLoad({
      url: stack.apiUrl,
      connections: clients,
      durationMs,
      method: 'GET',
      path,
      headers: stack.apiHeaders,
    });
  if (ctx.sizes.warmupMs > 0) {
    ctx.progress('wallet reads: warm-up');
    await load(anyWallet, ctx.sizes.warmupMs);
  }
  const { rows } = await ctx.pool.query<{ n: string }>(
    'select count(*)::text as n from read_model.transactions where wallet_id = $1',
    [hotWallet],
  );
  const figures: QueryFigure[] = [];
  ctx.progress(`wallet reads, many wallets, ${clients} clients`);
  figures.push({
    target: 'many wallets',
    load: await stack.withCpu(() => load(anyWallet, ctx.sizes.loadMs)),
  });
  ctx.progress(`wallet reads, hot wallet (${rows[0]?.n} transactions), ${clients} clients`);
  figures.push({
    target: `hot wallet (${Number(rows[0]?.n).toLocaleString('en-US')} rows)`,
    load: await stack.withCpu(() => load(`/api/wallets/${hotWallet}/`, ctx.sizes.loadMs)),
  });
  return figures;
}
