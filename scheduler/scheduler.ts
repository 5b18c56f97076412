// The scheduler role: a node-cron tick every second (and an early wake-up when something falls due
// sooner) claims due withdrawals and processes them, many at once. Starting is fast (one append);
// the third-party calls are bounded separately, so a slow bank does not hold up starts.
import { randomUUID } from 'node:crypto';
import cron from 'node-cron';
import type pg from 'pg';
import { ensureReadModel } from '../projections/readModelSchema.ts';
import type { WalletCommandHandler } from '../src/commands/walletCommandHandler.ts';
import { createLimit } from '../src/infra/limit.ts';
import type { Log } from '../src/infra/logger.ts';
import { metrics } from '../src/infra/metrics.ts';
import {
  type Claim,
  claimDueWithdrawals,
  extendLease,
  readDueSummary,
  renewLease,
} from './claimDueWithdrawals.ts';
import type { PayoutClient } from './payoutClient.ts';
import { processWithdrawal } from './processWithdrawal.ts';

export interface SchedulerOptions {
  readonly pool: pg.Pool;
  readonly commands: WalletCommandHandler;
  readonly payouts: PayoutClient;
  /** Third-party calls in flight at once. */
  readonly concurrency: number;
  readonly maxAttempts: number;
  readonly retryBaseMs?: number;
  readonly leaseMs: number;
  readonly clock?: () => Date;
  readonly log?: Log;
  /** How long a finished row stays leased while the projector removes it. */
  readonly settleMs?: number;
}

export function startScheduler(options: SchedulerOptions) {
  const { pool, leaseMs, clock = () => new Date(), log = () => {}, settleMs = 10_000 } = options;
  const owner = `scheduler-${randomUUID().slice(0, 8)}`;
  const limitPayout = createLimit(options.concurrency);
  // Claimed and not finished: bounded so that queued work still finishes within its lease.
  const maxHeld = options.concurrency * 4;
  const held = new Set<Promise<void>>();
  let stopped = false;
  let ticking = false;
  let wakeUp: NodeJS.Timeout | undefined;

  const processOptions = {
    commands: options.commands,
    payouts: options.payouts,
    clock,
    maxAttempts: options.maxAttempts,
    retryBaseMs: options.retryBaseMs ?? 1000,
    limitPayout,
  };

  async function handle({ withdrawalId, walletId, lease }: Claim) {
    let until: Date;
    try {
      const result = await processWithdrawal(processOptions, walletId, withdrawalId, () =>
        renewLease(pool, { withdrawalId, lease, now: clock(), leaseMs }),
      );
      until = result.done ? new Date(clock().getTime() + settleMs) : result.retryAt;
    } catch (error) {
      // Left leased until a little later; the stream decides what happens on the next try.
      log('withdrawal step failed; will retry', { withdrawalId, error: (error as Error).message });
      until = new Date(clock().getTime() + 1000);
    }
    await extendLease(pool, { withdrawalId, lease, until }).catch(() => {});
  }

  // The due list is a read model: make sure it exists before the first claim (a fresh database).
  let readModel: Promise<unknown> | undefined;

  async function tick() {
    if (stopped || ticking) return;
    ticking = true;
    try {
      readModel ??= ensureReadModel(pool).catch((error: unknown) => {
        readModel = undefined; // try again at the next tick
        throw error;
      });
      await readModel;
      for (;;) {
        const now = clock();
        const claims = await claimDueWithdrawals(pool, {
          now,
          limit: Math.min(1000, maxHeld - held.size),
          leaseMs,
          owner,
        });
        for (const claim of claims) {
          const work = handle(claim).finally(() => {
            held.delete(work);
            // Room again: claim more without waiting for the next tick.
            if (held.size === maxHeld - 1) void tick();
          });
          held.add(work);
        }
        if (claims.length < 1000 || held.size >= maxHeld || stopped) break;
      }
      const { nextDueAt, backlog } = await readDueSummary(pool, clock());
      metrics.dueBacklog.set(backlog);
      scheduleWakeUp(nextDueAt);
    } catch (error) {
      log('scheduler tick failed', { error: (error as Error).message });
    } finally {
      ticking = false;
    }
  }

  /** The cron tick comes every second; something due sooner gets its own timer. */
  function scheduleWakeUp(nextDueAt: Date | null) {
    if (wakeUp) clearTimeout(wakeUp);
    wakeUp = undefined;
    if (!nextDueAt || stopped) return;
    const delay = nextDueAt.getTime() - clock().getTime();
    if (delay > 0 && delay < 1000) wakeUp = setTimeout(() => void tick(), delay);
  }

  const task = cron.schedule('* * * * * *', () => tick(), { name: owner, noOverlap: true });
  void tick();

  return {
    owner,
    /** Claims now instead of at the next tick (tests, and a wake-up after new work). */
    tick,
    /** Stops claiming and waits for the work in hand to finish. */
    async stop() {
      stopped = true;
      if (wakeUp) clearTimeout(wakeUp);
      await task.stop();
      await task.destroy();
      while (ticking) await new Promise((resolve) => setTimeout(resolve, 10));
      await Promise.allSettled([...held]);
    },
  };
}

export type Scheduler = ReturnType<typeof startScheduler>;
