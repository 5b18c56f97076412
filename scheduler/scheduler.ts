// The scheduler role: claim, decide, call the third party, append. A node-cron tick every second
// (and an early wake-up when something falls due sooner) claims due withdrawals from the
// projector's due list into claims of its own and takes each as far as it can go now (see
// processWithdrawal). Starting is fast (one append); third-party calls are bounded separately,
// so a slow bank does not hold up starts.
import { randomUUID } from 'node:crypto';
import cron from 'node-cron';
import type pg from 'pg';
import { countAwaitingSettlement } from '../projections/queries.ts';
import { isReadModelCurrent } from '../projections/readModelSchema.ts';
import type { WalletCommandHandler } from '../src/commands/walletCommandHandler.ts';
import type { PayoutPolicy } from '../src/domain/withdrawal.ts';
import { createLimit } from '../src/infra/limit.ts';
import { createLogger, type Logger } from '../src/infra/logger.ts';
import { metrics } from '../src/infra/metrics.ts';
import { type Claim, claimDue } from './claims/claimDue.ts';
import { dueSummary } from './claims/dueSummary.ts';
import { releaseClaim } from './claims/releaseClaim.ts';
import { renewClaim } from './claims/renewClaim.ts';
import { migrateScheduler } from './claims/schema.ts';
import { sweepClaims } from './claims/sweepClaims.ts';
import { createLeases } from './leases.ts';
import type { PayoutClient } from './payoutClient.ts';
import { processWithdrawal, type StepRunner } from './processWithdrawal.ts';

export interface SchedulerOptions {
  readonly pool: pg.Pool;
  readonly commands: WalletCommandHandler;
  readonly payouts: Pick<PayoutClient, 'requestPayout' | 'lookupTransfer'>;
  /** Third-party calls in flight at once. */
  readonly concurrency: number;
  readonly maxAttempts: number;
  readonly retryBaseMs?: number;
  /** How long until an outcome the third party cannot tell is asked about again. */
  readonly recheckMs?: number;
  readonly leaseMs: number;
  readonly clock?: () => Date;
  readonly random?: () => number;
  readonly log?: Pick<Logger, 'warn' | 'error'>;
  /** How long a finished withdrawal is held back while the projector takes it off the due list. */
  readonly settleMs?: number;
  /** Tick every second on its own (default); tests that drive the clock call `tick` themselves. */
  readonly autoTick?: boolean;
}

/** Claims taken per query at most. */
const CLAIM_BATCH = 1000;
/** Every this many ticks, claims of finished withdrawals are removed. */
const SWEEP_EVERY = 30;

export async function startScheduler(options: SchedulerOptions) {
  const { pool, leaseMs, clock = () => new Date(), settleMs = 10_000 } = options;
  const log = options.log ?? createLogger('scheduler', 'silent');
  const instance = `scheduler-${randomUUID().slice(0, 8)}`;
  await migrateScheduler(pool);
  const policy: PayoutPolicy = {
    maxAttempts: options.maxAttempts,
    retryBaseMs: options.retryBaseMs ?? 1000,
    recheckMs: options.recheckMs ?? 60_000,
  };
  // Time since a claim is measured on a clock that never steps back (a wall clock may, and a
  // lease would then seem young for too long); a test's own clock stands in for both.
  const elapsed = options.clock ? () => clock().getTime() : () => performance.now();
  const leases = createLeases({
    leaseMs,
    now: elapsed,
    renewInDatabase: (claim) => renewClaim(pool, claim, { now: clock(), leaseMs }),
  });
  const runner: StepRunner = {
    commands: options.commands,
    payouts: options.payouts,
    policy,
    clock,
    random: options.random ?? Math.random,
    limitPayout: createLimit(options.concurrency),
    renew: (claim) => leases.renew(claim),
    instance,
    log,
  };
  // Claimed and not finished: bounded so that queued work still finishes within its lease.
  const maxHeld = options.concurrency * 4;
  const held = new Set<Promise<void>>();
  let stopped = false;
  let ticking: Promise<void> | undefined;
  let ticks = 0;
  let wakeUp: NodeJS.Timeout | undefined;
  let readModelWarned = false;

  async function handle(claim: Claim) {
    let notBefore: Date;
    try {
      const result = await processWithdrawal(runner, claim);
      notBefore = result.done ? new Date(clock().getTime() + settleMs) : result.at;
    } catch (error) {
      // Held back a little; the stream decides what happens on the next try.
      log.warn('withdrawal step failed; will retry', {
        withdrawalId: claim.withdrawalId,
        error: (error as Error).message,
      });
      notBefore = new Date(clock().getTime() + 1000);
    }
    leases.released(claim);
    await releaseClaim(pool, claim, notBefore).catch(() => {});
  }

  async function claimAndRun() {
    // The due list is the projector's: wait until it has the layout this scheduler reads.
    if (!(await isReadModelCurrent(pool))) {
      if (!readModelWarned) log.warn('waiting for the projector to build the read model');
      readModelWarned = true;
      return;
    }
    readModelWarned = false;
    if (++ticks % SWEEP_EVERY === 0) await sweepClaims(pool, clock());
    for (;;) {
      const claimedAt = elapsed();
      const claims = await claimDue(pool, {
        now: clock(),
        limit: Math.min(CLAIM_BATCH, maxHeld - held.size),
        leaseMs,
        instance,
      });
      for (const claim of claims) {
        leases.taken(claim, claimedAt);
        const work = handle(claim).finally(() => {
          held.delete(work);
          // Room again: claim more without waiting for the next tick.
          if (held.size === maxHeld - 1) void tick();
        });
        held.add(work);
      }
      if (claims.length < CLAIM_BATCH || held.size >= maxHeld || stopped) break;
    }
    const { nextDueAt, backlog } = await dueSummary(pool, clock());
    metrics.dueBacklog.set(backlog);
    metrics.awaitingSettlement.set(await countAwaitingSettlement(pool));
    scheduleWakeUp(nextDueAt);
  }

  /** Claims what is due now; resolves when the claims are taken (not when their work is done). */
  function tick(): Promise<void> {
    if (stopped) return Promise.resolve();
    ticking ??= claimAndRun()
      .catch((error: unknown) => {
        log.warn('scheduler tick failed', { error: (error as Error).message });
      })
      .finally(() => {
        ticking = undefined;
      });
    return ticking;
  }

  /** The cron tick comes every second; something due sooner gets its own timer. */
  function scheduleWakeUp(nextDueAt: Date | null) {
    if (wakeUp) clearTimeout(wakeUp);
    wakeUp = undefined;
    if (!nextDueAt || stopped) return;
    const delay = nextDueAt.getTime() - clock().getTime();
    if (delay > 0 && delay < 1000) wakeUp = setTimeout(() => void tick(), delay);
  }

  const task =
    options.autoTick === false
      ? undefined
      : cron.schedule('* * * * * *', () => tick(), { name: instance, noOverlap: true });
  if (options.autoTick !== false) void tick();

  return {
    instance,
    /** Claims now instead of at the next tick (tests, and a wake-up after new work). */
    tick,
    /** Waits until every claim taken so far has been worked (tests driving the clock). */
    async idle() {
      while (ticking || held.size > 0) await Promise.allSettled([ticking, ...held]);
    },
    /** Stops claiming and waits for the work in hand to finish. */
    async stop() {
      stopped = true;
      if (wakeUp) clearTimeout(wakeUp);
      await task?.stop();
      await task?.destroy();
      await ticking;
      await Promise.allSettled([...held]);
    },
  };
}

export type Scheduler = Awaited<ReturnType<typeof startScheduler>>;
