// The service under test, one process per role, started the way an operator starts them:
// `node --import tsx src/cli/main.ts <role>` against the benchmark's database (DATABASE_URL), with
// the product's default settings. The transaction-service answers after 1 s and never fails.
import type pg from 'pg';
import type { Context } from './context.ts';
import { backendDelta, cpuDelta, cpuSnapshot, postgresBackends } from './cpu.ts';
import { type Child, startRole } from './processes.ts';

/** The operator key every request of the benchmark carries (the API runs with keys required). */
export const BENCH_OPERATOR_KEY = `wlk_bench_${'0'.repeat(40)}`;

export interface Stack {
  readonly apiUrl: string;
  /** Headers for the API: the operator key. */
  readonly apiHeaders: Record<string, string>;
  readonly transactionServiceUrl: string;
  readonly api: Child;
  readonly projector: Child;
  readonly scheduler: Child;
  readonly transactionService: Child;
  /** Another `serve` process on the same database with extra settings (e.g. AUTH=off). */
  startApi(extra: Record<string, string>): Promise<{ url: string; child: Child }>;
  /** (Re)starts the projector; resolves with the wall-clock ms its "projector active" line carries. */
  startProjector(): Promise<number>;
  /** Starts a notify role (webhooks); resolves once it writes the outbox. */
  startNotify(): Promise<Child>;
  /** The roles, for the memory table. */
  roles(): Child[];
  /** Measures `work` and the CPU each process group used meanwhile, per request, in µs. */
  withCpu<T extends { ok: number; seconds: number }>(
    work: () => Promise<T>,
  ): Promise<T & CpuFigures>;
}

export interface CpuFigures {
  /** CPU µs per successful request, by process group. */
  readonly cpuUsPerRequest: Record<string, number>;
  /** Cores busy on average (all groups together). */
  readonly coresBusy: number;
  /** PostgreSQL's CPU µs per successful request, by whose connection spent it (see cpu.ts). */
  readonly postgresUsPerRequest?: Record<string, number>;
}

/** Waits until a role's connection (its PGAPPNAME) shows in pg_stat_activity. */
async function connected(pool: pg.Pool, role: Child, applicationName: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void role.exited.then(() => {
    exited = true;
  });
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${role.name} exited\n${role.tail()}`);
    const { rows } = await pool.query(
      'select 1 from pg_stat_activity where application_name = $1 limit 1',
      [applicationName],
    );
    if (rows.length > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${applicationName} did not connect within ${timeoutMs} ms\n${role.tail()}`);
}

export async function startStack(ctx: Context): Promise<Stack> {
  const env = (role: string): Record<string, string> => ({
    DATABASE_URL: ctx.databaseUrl,
    LOG_LEVEL: 'info',
    HOST: '127.0.0.1',
    PORT: '0',
    PGAPPNAME: `bench-${role}`,
    // Keys required, as by default; a per-key limit that never binds (the limiter still counts
    // every request), so figures show the cost of the checks, not throttling.
    OPERATOR_API_KEY: BENCH_OPERATOR_KEY,
    RATE_LIMIT_PER_KEY: '1000000000',
    // The webhook section's receiver is on loopback.
    WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
  });
  const start = (role: string, extra: Record<string, string> = {}) =>
    startRole(role, { env: { ...env(role), ...extra }, nodeFlags: ctx.roleFlags(role) });

  ctx.progress('starting transaction-service, api, projector and scheduler processes');
  const transactionService = start('transaction-service', {
    TRANSACTION_SERVICE_PORT: '0',
    TRANSACTION_SERVICE_LATENCY_MS: '1000',
    TRANSACTION_SERVICE_FAILURE_RATE: '0',
  });
  const [, tsUrl] = await transactionService.waitFor(/transaction-service listening at (\S+)/);
  // In the order `npm start` starts them: the projector creates the read model the others use.
  let projector = start('project');
  await projector.waitFor(/"msg":"projector active"/);
  const startApi = async (extra: Record<string, string> = {}) => {
    const child = start('serve', extra);
    const [, url] = await child.waitFor(/wallet ledger listening on (http:\/\/\S+?)[\s"]/);
    return { child, url: (url as string).replace('localhost', '127.0.0.1') };
  };
  const { child: api, url: apiUrl } = await startApi();
  const scheduler = start('schedule', { TRANSACTION_SERVICE_URL: tsUrl as string });
  await connected(ctx.pool, scheduler, 'bench-schedule');

  const stack: Stack = {
    apiUrl,
    apiHeaders: { authorization: `Bearer ${BENCH_OPERATOR_KEY}` },
    transactionServiceUrl: tsUrl as string,
    api,
    get projector() {
      return projector;
    },
    scheduler,
    transactionService,
    startApi,
    async startProjector() {
      projector = start('project');
      const [line] = await projector.waitFor(/^.*"msg":"projector active".*$/);
      return (JSON.parse(line) as { time: number }).time;
    },
    async startNotify() {
      const notify = start('notify');
      await notify.waitFor(/"msg":"notify outbox writer active"/, 60_000);
      return notify;
    },
    roles: () => [api, projector, scheduler, transactionService],
    async withCpu(work) {
      const snapshot = () =>
        cpuSnapshot(
          {
            api: api.pid,
            projector: projector.pid,
            scheduler: scheduler.pid,
            'transaction-service': transactionService.pid,
          },
          ctx.postmasterPid,
        );
      const backends = () => postgresBackends(ctx.pool, ctx.postmasterPid);
      const [before, backendsBefore] = [await snapshot(), await backends()];
      const result = await work();
      const used = cpuDelta(before, await snapshot());
      const byBackend = backendDelta(backendsBefore, await backends());
      const total = Object.values(used).reduce((a, b) => a + b, 0);
      const perRequest = (ms: Record<string, number>) =>
        Object.fromEntries(
          Object.entries(ms).map(([k, v]) => [k, (v * 1000) / Math.max(1, result.ok)]),
        );
      return {
        ...result,
        cpuUsPerRequest: perRequest(used),
        coresBusy: total / (result.seconds * 1000),
        postgresUsPerRequest: perRequest(byBackend),
      };
    },
  };
  return stack;
}
