// Scheduler: N funded wallets, one withdrawal each, all scheduled for the same moment T through the
// API; the scheduler role pays them through the transaction-service (1 s per call, no failures).
// Read back from the event store afterwards: lateness = WithdrawalStarted.at - scheduledTime, and
// completion = the last WithdrawalSucceeded.at - T; completed per second = N / completion.
import { walletStreamId } from '../src/domain/events.ts';
import type { Context } from './context.ts';
import type { Api } from './http.ts';
import { createWallets, mapLimit } from './http.ts';
import { percentile } from './measure.ts';

export interface SchedulerFigure {
  readonly withdrawals: number;
  readonly succeeded: number;
  readonly failed: number;
  /** All due rows were in the read model this long before T (negative: after T). */
  readonly projectedBeforeDueMs: number;
  readonly latenessP50Ms: number;
  readonly latenessP99Ms: number;
  readonly latenessMaxMs: number;
  readonly startedWithin2s: number;
  readonly allCompletedAfterMs: number;
  readonly completedPerSecond: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function benchScheduler(ctx: Context, api: Api): Promise<SchedulerFigure> {
  const n = ctx.sizes.withdrawals;
  ctx.progress(`withdrawals: creating and funding ${n} wallets`);
  const wallets = await createWallets(api, n);
  await mapLimit(wallets, 32, (id) =>
    api.request('PATCH', `/api/wallets/${id}/deposit/`, { amount: '10.00' }),
  );
  const due = new Date(Date.now() + ctx.sizes.withdrawalLeadMs);
  ctx.progress(`withdrawals: scheduling ${n}, all due at ${due.toISOString()}`);
  await mapLimit(wallets, 32, (id) =>
    api.request('POST', `/api/wallets/${id}/withdraw/`, {
      amount: '1.00',
      scheduled_time: due.toISOString(),
    }),
  );
  // The scheduler claims from the read model: note when every row was there (before T, or not).
  let projectedAt = Number.NaN;
  while (Date.now() < due.getTime() + 30_000) {
    const { rows } = await ctx.pool.query<{ n: number }>(
      'select count(*)::int as n from read_model.due_withdrawals where wallet_id = any($1::uuid[])',
      [wallets],
    );
    if ((rows[0]?.n ?? 0) >= n) {
      projectedAt = Date.now();
      break;
    }
    await sleep(20);
  }
  ctx.progress(`withdrawals: waiting for all ${n} to end`);
  const streams = wallets.map(walletStreamId);
  const deadline = due.getTime() + 120_000;
  for (;;) {
    const { rows } = await ctx.pool.query<{ n: number }>(
      `select count(*)::int as n from events
       where stream_id = any($1::text[]) and event_type in ('WithdrawalSucceeded', 'WithdrawalFailed')`,
      [streams],
    );
    if ((rows[0]?.n ?? 0) >= n) break;
    if (Date.now() > deadline) {
      ctx.progress(`withdrawals: only ${rows[0]?.n} of ${n} ended after 120 s; reporting those`);
      break;
    }
    await sleep(100);
  }
  const lateness: number[] = [];
  let lastEnded = Number.NaN;
  let succeeded = 0;
  let failed = 0;
  await mapLimit(streams, 16, async (stream) => {
    let scheduled: number | undefined;
    for (const event of await ctx.store.readStream(stream)) {
      const data = event.data as { at: string; scheduledTime?: string };
      if (event.type === 'WithdrawalScheduled')
        scheduled = Date.parse(data.scheduledTime as string);
      if (event.type === 'WithdrawalStarted' && scheduled !== undefined)
        lateness.push(Date.parse(data.at) - scheduled);
      if (event.type === 'WithdrawalSucceeded' || event.type === 'WithdrawalFailed') {
        if (event.type === 'WithdrawalSucceeded') succeeded++;
        else failed++;
        lastEnded = Math.max(Number.isNaN(lastEnded) ? 0 : lastEnded, Date.parse(data.at));
      }
    }
  });
  lateness.sort((a, b) => a - b);
  const allCompletedAfterMs = lastEnded - due.getTime();
  return {
    withdrawals: n,
    succeeded,
    failed,
    projectedBeforeDueMs: due.getTime() - projectedAt,
    latenessP50Ms: percentile(lateness, 50),
    latenessP99Ms: percentile(lateness, 99),
    latenessMaxMs: lateness.at(-1) ?? Number.NaN,
    startedWithin2s: lateness.filter((ms) => ms <= 2000).length,
    allCompletedAfterMs,
    completedPerSecond: succeeded / (allCompletedAfterMs / 1000),
  };
}
