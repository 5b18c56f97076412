// The cost of the access layer: deposits over HTTP (many wallets, closed loop) against the API with
// keys required (bearer key, key cache, rate limiter, headers) and against a second API process on
// the same database with AUTH=off, in alternating runs so that drift on the machine hits both.
// Beside the rates, the CPU each deposit cost the serving API process and PostgreSQL: on a machine
// that is busy with other work the rates drift, the CPU per deposit much less.
import { DEPOSIT_BODY } from './ceilings.ts';
import type { Context } from './context.ts';
import { cpuDelta, cpuSnapshot } from './cpu.ts';
import { type LoadResult, runLoad } from './load.ts';
import type { Stack } from './stack.ts';

export type AuthRun = LoadResult & { readonly apiUs: number; readonly postgresUs: number };

export interface AuthFigure {
  readonly clients: number;
  readonly on: AuthRun[];
  readonly off: AuthRun[];
  /** Deposits/s over all runs of each mode. */
  readonly onPerSecond: number;
  readonly offPerSecond: number;
}

export async function benchAuth(
  ctx: Context,
  stack: Stack,
  { wallets, clients }: { wallets: string[]; clients: number[] },
): Promise<AuthFigure[]> {
  ctx.progress('a second api process with AUTH=off');
  const off = await stack.startApi({ AUTH: 'off' });
  const anyWallet = () =>
    `/api/wallets/${wallets[Math.floor(Math.random() * wallets.length)] as string}/deposit/`;
  const modes = {
    on: { url: stack.apiUrl, headers: stack.apiHeaders, pid: stack.api.pid },
    off: { url: off.url, headers: {}, pid: off.child.pid },
  };
  const load = (mode: keyof typeof modes, connections: number, durationMs: number) =>
    runLoad({
      url: modes[mode].url,
      headers: modes[mode].headers,
      connections,
      durationMs,
      method: 'PATCH',
      path: anyWallet,
      body: DEPOSIT_BODY,
    });
  if (ctx.sizes.warmupMs > 0) {
    ctx.progress('auth on/off: warm-up');
    await load('on', 16, ctx.sizes.warmupMs);
    await load('off', 16, ctx.sizes.warmupMs);
  }
  const rounds = ctx.quick ? 1 : 3;
  const figures: AuthFigure[] = [];
  for (const connections of clients) {
    const runs: Record<'on' | 'off', AuthRun[]> = { on: [], off: [] };
    for (let round = 0; round < rounds; round++) {
      // Alternate which goes first, so neither always runs on a fuller table.
      const order = round % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const);
      for (const mode of order) {
        ctx.progress(`deposits, auth ${mode}, ${connections} clients (round ${round + 1})`);
        const snapshot = () => cpuSnapshot({ api: modes[mode].pid }, ctx.postmasterPid);
        const before = await snapshot();
        const result = await load(mode, connections, ctx.sizes.loadMs);
        const used = cpuDelta(before, await snapshot());
        const perDeposit = (ms: number | undefined) => ((ms ?? Number.NaN) * 1000) / result.ok;
        runs[mode].push({
          ...result,
          apiUs: perDeposit(used.api),
          postgresUs: perDeposit(used.postgres),
        });
      }
    }
    const rate = (list: LoadResult[]) =>
      list.reduce((a, r) => a + r.ok, 0) / list.reduce((a, r) => a + r.seconds, 0);
    figures.push({
      clients: connections,
      ...runs,
      onPerSecond: rate(runs.on),
      offPerSecond: rate(runs.off),
    });
  }
  return figures;
}
