// The cost of the access layer, two ways:
// * deposits over HTTP (many wallets, closed loop) against two API processes started side by side
//   for this (not the stack's API, which has served everything before and is measurably slower
//   than a fresh process even with the same settings) on the same database: one with keys required
//   (bearer key, key cache, rate limiter, headers), one with AUTH=off, in short runs in the
//   order on, off, off, on (a block), repeated, each run starting once the projector has caught up
//   with the one before: each block's on/off ratio compares runs seconds apart with either mode
//   first as often, and the median over many blocks is robust to this machine's speed, which
//   drifts from one short run to the next. Each process deposits to wallets of its own: on shared
//   ones, every run would start with the other process's writes making its cached wallet states
//   stale (a conflict and a read per wallet), which is the cost of two instances on the same
//   wallets, not of the access layer. Beside the rates, the CPU each
//   deposit cost the serving API process, PostgreSQL, that API's own PostgreSQL connections and
//   the whole machine.
import { DEPOSIT_BODY } from './ceilings.ts';
import type { Context } from './context.ts';
import { backendDelta, cpuDelta, cpuSnapshot, postgresBackends } from './cpu.ts';
import { type Api, createWallets } from './http.ts';
import { type LagProbe, projectorCaughtUp } from './lag.ts';
import { type LoadResult, runLoad } from './load.ts';
import { percentile } from './measure.ts';
import type { Stack } from './stack.ts';

export type AuthRun = LoadResult & {
  readonly apiUs: number;
  readonly postgresUs: number;
  /** PostgreSQL's CPU in the serving API's own connections. */
  readonly apiConnectionsUs: number;
  /** The whole machine's busy time (every process, the load generator and the kernel). */
  readonly machineUs: number;
  /** CPU µs per deposit by process group, and PostgreSQL's by whose connections spent it. */
  readonly cpuUs: Record<string, number>;
  readonly postgresByConnectionUs: Record<string, number>;
};

export interface AuthFigure {
  readonly clients: number;
  readonly on: AuthRun[];
  readonly off: AuthRun[];
  /** Deposits/s over all runs of each mode. */
  readonly onPerSecond: number;
  readonly offPerSecond: number;
  /** The median over blocks (on, off, off, on) of on / off deposits/s. */
  readonly medianRatio: number;
  /** The blocks' quartiles of that ratio: how far single blocks spread. */
  readonly ratioQuartiles: readonly [number, number];
}

export async function benchAuth(
  ctx: Context,
  stack: Stack,
  probe: LagProbe,
  { api, clients }: { api: Api; clients: number[] },
): Promise<AuthFigure[]> {
  ctx.progress('two more api processes: keys required, and AUTH=off');
  const names = { on: 'bench-serve-keys', off: 'bench-serve-auth-off' };
  const [on, off] = await Promise.all([
    stack.startApi({ PGAPPNAME: names.on }),
    stack.startApi({ PGAPPNAME: names.off, AUTH: 'off' }),
  ]);
  ctx.progress(`${ctx.sizes.wallets} wallets for each`);
  const deposits = async () =>
    (await createWallets(api, ctx.sizes.wallets)).map((id) => `/api/wallets/${id}/deposit/`);
  const modes = {
    on: { url: on.url, headers: stack.apiHeaders, pid: on.child.pid, paths: await deposits() },
    off: { url: off.url, headers: {}, pid: off.child.pid, paths: await deposits() },
  };
  const load = (mode: keyof typeof modes, connections: number, durationMs: number) =>
    runLoad({
      url: modes[mode].url,
      headers: modes[mode].headers,
      connections,
      durationMs,
      method: 'PATCH',
      path: modes[mode].paths,
      body: DEPOSIT_BODY,
    });
  if (ctx.sizes.warmupMs > 0) {
    ctx.progress('auth on/off: warm-up');
    await load('on', 16, ctx.sizes.warmupMs);
    await load('off', 16, ctx.sizes.warmupMs);
  }
  const blocks = ctx.quick ? 1 : 20;
  const runMs = ctx.quick ? ctx.sizes.loadMs : ctx.sizes.loadMs / 5;
  const figures: AuthFigure[] = [];
  for (const connections of clients) {
    const runs: Record<'on' | 'off', AuthRun[]> = { on: [], off: [] };
    ctx.progress(`deposits, auth on and off, ${connections} clients, ${blocks} blocks`);
    for (let block = 0; block < blocks; block++) {
      for (const mode of ['on', 'off', 'off', 'on'] as const) {
        const snapshot = () =>
          cpuSnapshot({ api: modes[mode].pid, projector: stack.projector.pid }, ctx.postmasterPid);
        await projectorCaughtUp(ctx.pool, probe);
        const backends = () => postgresBackends(ctx.pool, ctx.postmasterPid);
        const [before, backendsBefore] = [await snapshot(), await backends()];
        const result = await load(mode, connections, runMs);
        const used = cpuDelta(before, await snapshot());
        const connectionsUsed = backendDelta(backendsBefore, await backends());
        const perDeposit = (ms: number | undefined) => ((ms ?? Number.NaN) * 1000) / result.ok;
        runs[mode].push({
          ...result,
          apiUs: perDeposit(used.api),
          postgresUs: perDeposit(used.postgres),
          apiConnectionsUs: perDeposit(connectionsUsed[names[mode]]),
          machineUs: perDeposit(Object.values(used).reduce((a, b) => a + b, 0)),
          cpuUs: Object.fromEntries(Object.entries(used).map(([k, v]) => [k, perDeposit(v)])),
          postgresByConnectionUs: Object.fromEntries(
            Object.entries(connectionsUsed).map(([k, v]) => [k, perDeposit(v)]),
          ),
        });
      }
    }
    const rate = (list: LoadResult[]) =>
      list.reduce((a, r) => a + r.ok, 0) / list.reduce((a, r) => a + r.seconds, 0);
    const ratios = Array.from({ length: blocks }, (_, block) => {
      const pair = (list: AuthRun[]) => list.slice(2 * block, 2 * block + 2);
      return rate(pair(runs.on)) / rate(pair(runs.off));
    }).sort((a, b) => a - b);
    figures.push({
      clients: connections,
      ...runs,
      onPerSecond: rate(runs.on),
      offPerSecond: rate(runs.off),
      medianRatio: percentile(ratios, 50),
      ratioQuartiles: [percentile(ratios, 25), percentile(ratios, 75)],
    });
  }
  return figures;
}
