// `npm run bench -- --soak[=minutes]`: sustained mixed load, not a burst. Two API processes share
// 16 clients (8 each) for `minutes` (default 10): reads of wallets and of their transactions,
// deposits, and withdrawals that the scheduler pays a second later through the transaction-service.
// Printed per minute: requests/s, its share of the first minute's, p99, projector lag, RSS per role,
// the size of the tables that grow, and the CPU time of a fixed piece of work (the machine's own
// pace, machineSpeed.ts). The aim: the last minute keeps >= 90 % of the first.
import { DEPOSIT_BODY } from './ceilings.ts';
import type { Context } from './context.ts';
import { cpuDelta, cpuSnapshot } from './cpu.ts';
import { apiClient, createWallets } from './http.ts';
import { type LagProbe, maxPosition, measureLag } from './lag.ts';
import { type LoadResult, type RequestShape, runLoad } from './load.ts';
import { referenceWorkMs } from './machineSpeed.ts';
import type { Child } from './processes.ts';
import type { Stack } from './stack.ts';

export interface SoakMinute {
  readonly minute: number;
  readonly perSecond: number;
  readonly p99Ms: number;
  readonly errors: number;
  readonly lagP99Ms: number;
  readonly rssMiB: Record<string, number>;
  readonly eventsTableMiB: number;
  readonly readModelMiB: number;
  /** CPU µs per answered request, per process group, over the minute. */
  readonly cpuUsPerRequest: Record<string, number>;
  /** Withdrawals due by the minute's end and not yet finished by the scheduler. */
  readonly dueBacklog: number;
  /** Size of one wallet's document (the original's shape lists all its withdrawals). */
  readonly documentKiB: number;
  /** CPU ms of a fixed piece of work at the minute's end (machineSpeed.ts): the machine's pace. */
  readonly referenceWorkMs?: number;
}

export interface SoakFigures {
  readonly minutes: SoakMinute[];
  /** The last minute's throughput over the first's. */
  readonly kept: number;
  readonly generator: string;
}

const WALLETS = 64;

export async function benchSoak(
  ctx: Context,
  stack: Stack,
  probe: LagProbe,
  minutes: number,
): Promise<SoakFigures> {
  const api = apiClient(stack.apiUrl, stack.apiHeaders);
  ctx.progress(`soak: ${WALLETS} wallets with 1,000,000.00 each, a second api process`);
  const wallets = await createWallets(api, WALLETS);
  for (const wallet of wallets) {
    await api.request('PATCH', `/api/wallets/${wallet}/deposit/`, { amount: '1000000.00' });
  }
  const second = await stack.startApi({});
  const mix: RequestShape[] = wallets.flatMap((wallet) => [
    { method: 'GET', path: `/api/wallets/${wallet}/` },
    { method: 'GET', path: `/api/wallets/${wallet}/` },
    { method: 'GET', path: `/api/wallets/${wallet}/transactions/?limit=20` },
    { method: 'PATCH', path: `/api/wallets/${wallet}/deposit/`, body: DEPOSIT_BODY },
    { method: 'PATCH', path: `/api/wallets/${wallet}/deposit/`, body: DEPOSIT_BODY },
    {
      method: 'POST',
      path: `/api/wallets/${wallet}/withdraw/`,
      body: JSON.stringify({ amount: '0.01', delay: 1 }),
    },
  ]);
  const roles: Child[] = [...stack.roles(), second.child];
  const figures: SoakMinute[] = [];
  let generator = '';
  referenceWorkMs(); // warm: the first call compiles the work
  const names = roles.map((role, i) => (i === roles.length - 1 ? 'api#2' : role.name));
  const cpu = () =>
    cpuSnapshot(Object.fromEntries(roles.map((r, i) => [names[i], r.pid])), ctx.postmasterPid);
  for (let minute = 1; minute <= minutes; minute++) {
    const cpuBefore = await cpu();
    const from = await maxPosition(ctx.pool);
    const loads = await Promise.all(
      [stack.apiUrl, second.url].map((url) =>
        runLoad({
          url,
          connections: 8,
          durationMs: 60_000,
          method: 'GET',
          path: '/',
          mix,
          headers: stack.apiHeaders,
        }),
      ),
    );
    const to = await maxPosition(ctx.pool);
    const lag = await measureLag(ctx.pool, probe, from, to);
    const total = combine(loads);
    const used = cpuDelta(cpuBefore, await cpu());
    generator = total.generator;
    const rssMiB: Record<string, number> = {};
    for (const [i, role] of roles.entries()) {
      const memory = await role.memory();
      rssMiB[names[i] as string] = Math.round((memory?.rssKiB ?? Number.NaN) / 1024);
    }
    const { rows } = await ctx.pool.query<{ events: string; read_model: string; due: string }>(
      `select pg_total_relation_size('events')::text as events,
              (select coalesce(sum(pg_total_relation_size(c.oid)), 0)::text from pg_class c
               join pg_namespace n on n.oid = c.relnamespace
               where n.nspname = 'read_model' and c.relkind = 'r') as read_model,
              (select count(*)::text from read_model.due_withdrawals where due_at <= now()) as due`,
    );
    const answered = Math.max(1, total.ok);
    const document = JSON.stringify(await api.request('GET', `/api/wallets/${wallets[0]}/`));
    const entry: SoakMinute = {
      minute,
      perSecond: total.perSecond,
      p99Ms: total.p99Ms,
      errors: total.non2xx + total.errors,
      lagP99Ms: lag.p99Ms,
      rssMiB,
      eventsTableMiB: Number(rows[0]?.events) / 2 ** 20,
      readModelMiB: Number(rows[0]?.read_model) / 2 ** 20,
      cpuUsPerRequest: Object.fromEntries(
        Object.entries(used).map(([k, ms]) => [k, Math.round((ms * 1000) / answered)]),
      ),
      dueBacklog: Number(rows[0]?.due),
      documentKiB: Buffer.byteLength(document) / 1024,
      referenceWorkMs: referenceWorkMs(),
    };
    figures.push(entry);
    ctx.progress(
      `soak minute ${minute}: ${Math.round(entry.perSecond)} requests/s, p99 ${entry.p99Ms.toFixed(1)} ms, ` +
        `lag p99 ${entry.lagP99Ms.toFixed(0)} ms, due backlog ${entry.dueBacklog}, ` +
        `wallet document ${entry.documentKiB.toFixed(0)} KiB, errors ${entry.errors}, ` +
        `reference work ${entry.referenceWorkMs?.toFixed(1)} ms of CPU; ` +
        `CPU µs per request ${JSON.stringify(entry.cpuUsPerRequest)}`,
    );
  }
  await second.child.stop();
  await api.close();
  const first = figures[0]?.perSecond ?? Number.NaN;
  const last = figures.at(-1)?.perSecond ?? Number.NaN;
  return { minutes: figures, kept: last / first, generator };
}

/** Two loads side by side as one: rates add, the p99 is the worse of the two. */
function combine(loads: LoadResult[]): LoadResult {
  const [a, b] = loads as [LoadResult, LoadResult];
  return {
    ...a,
    connections: a.connections + b.connections,
    ok: a.ok + b.ok,
    non2xx: a.non2xx + b.non2xx,
    errors: a.errors + b.errors,
    perSecond: a.perSecond + b.perSecond,
    p50Ms: Math.max(a.p50Ms, b.p50Ms),
    p99Ms: Math.max(a.p99Ms, b.p99Ms),
    maxMs: Math.max(a.maxMs, b.maxMs),
  };
}
