// Queries: GET /api/wallets/<id>/ (the wallet as its stream holds it: read your writes), closed
// loop at 32 clients, (a) a random wallet of the many per request, (b) the hot wallet, which by
// now holds every deposit of the hot-wallet runs, (c) many wallets again in the seconds right
// after a burst of deposits, while the projector catches up (the 13 s at 16 clients).
import { DEPOSIT_BODY } from './ceilings.ts';
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
  const burstMs = ctx.quick ? ctx.sizes.loadMs : 13_000;
  const burstClients = 16;
  ctx.progress(`deposits for ${burstMs / 1000} s at ${burstClients} clients, then wallet reads`);
  await runLoad({
    url: stack.apiUrl,
    connections: burstClients,
    durationMs: burstMs,
    method: 'PATCH',
    path: wallets.map((wallet) => `/api/wallets/${wallet}/deposit/`),
    body: DEPOSIT_BODY,
    headers: stack.apiHeaders,
  });
  figures.push({
    target: `many wallets, right after ${burstMs / 1000} s of deposits at ${burstClients} clients`,
    load: await stack.withCpu(() => load(anyWallet, ctx.sizes.loadMs)),
  });
  return figures;
}
