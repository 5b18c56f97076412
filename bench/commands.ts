// Commands: deposits through the full HTTP API (PATCH /api/wallets/<id>/deposit/), closed loop,
// (a) each request to a random wallet of many, (b) every request to one hot wallet, at 1, 16 and 64
// clients. Beside each figure: the projector lag of every event appended during it (lag.ts).
import { DEPOSIT_BODY } from './ceilings.ts';
import type { Context } from './context.ts';
import { type LagFigures, type LagProbe, maxPosition, measureLag, summarise } from './lag.ts';
import { type LoadResult, runLoad } from './load.ts';
import type { CpuFigures, Stack } from './stack.ts';

export type Spread = 'many wallets' | 'hot wallet';

export interface CommandFigure {
  readonly spread: Spread;
  readonly load: LoadResult & CpuFigures;
  readonly lag: Omit<LagFigures, 'samples'>;
}

export interface CommandFigures {
  readonly runs: CommandFigure[];
  /** Every event appended during the measured runs. */
  readonly lag: Omit<LagFigures, 'samples'>;
}

const depositPath = (walletId: string) => `/api/wallets/${walletId}/deposit/`;

export async function benchCommands(
  ctx: Context,
  stack: Stack,
  probe: LagProbe,
  { wallets, hotWallet, clients }: { wallets: string[]; hotWallet: string; clients: number[] },
): Promise<CommandFigures> {
  const anyWallet = wallets.map(depositPath);
  const cases: { spread: Spread; path: string | readonly string[] }[] = [
    { spread: 'many wallets', path: anyWallet },
    { spread: 'hot wallet', path: depositPath(hotWallet) },
  ];
  const load = (path: string | readonly string[], connections: number, durationMs: number) =>
    runLoad({
      url: stack.apiUrl,
      connections,
      durationMs,
      method: 'PATCH',
      path,
      body: DEPOSIT_BODY,
      headers: stack.apiHeaders,
    });
  if (ctx.sizes.warmupMs > 0) {
    ctx.progress('deposits: warm-up');
    await load(anyWallet, 16, ctx.sizes.warmupMs);
  }
  const runs: CommandFigure[] = [];
  const allLags: number[] = [];
  for (const { spread, path } of cases) {
    for (const connections of clients) {
      ctx.progress(`deposits, ${spread}, ${connections} clients`);
      const from = await maxPosition(ctx.pool);
      const result = await stack.withCpu(() => load(path, connections, ctx.sizes.loadMs));
      // Requests cut off by the end of the run may still commit: let them land first.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const to = await maxPosition(ctx.pool);
      const { samples, ...lag } = await measureLag(ctx.pool, probe, from, to);
      // Not push(...samples): a fast run has more samples than a call takes arguments.
      for (const sample of samples) allLags.push(sample);
      runs.push({ spread, load: result, lag });
    }
  }
  const { samples: _, ...lag } = summarise(allLags);
  return { runs, lag };
}
