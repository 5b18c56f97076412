// Housekeeping by the active outbox writer: what deleted endpoints left goes, what endpoints paused
// or disabled for longer than the retention have waiting for longer than that is given up (failed),
// and finished deliveries past their retention and idle lanes go. Each kind goes in batches, one batch of each kind in turn
// (so a big deleted endpoint never starves the retention of the others), until every kind has a
// batch smaller than the limit (caught up) or the time budget is spent (the caller sweeps again
// soon). Between batches it yields, and holds no lock: each batch is a statement of its own.
import { setImmediate as yieldNow } from 'node:timers/promises';
import type pg from 'pg';
import { dropIdleLanes } from './store/dropIdleLanes.ts';
import { expireDeliveries } from './store/expireDeliveries.ts';
import { expireDormant } from './store/expireDormant.ts';
import { purgeDeleted } from './store/purgeDeleted.ts';

export interface SweepOptions {
  readonly now: Date;
  readonly retentionDays: number;
  /** Rows per batch. */
  readonly limit?: number;
  /** Time after which no further round of batches starts. */
  readonly budgetMs?: number;
  /** Stops between batches (shutdown, no longer the active writer). */
  readonly signal?: AbortSignal;
}

export interface SweepResult {
  /** Rows removed per kind. */
  readonly purged: number;
  /** Lanes whose old deliveries were given up (their endpoint paused or disabled too long). */
  readonly dormant: number;
  readonly expired: number;
  readonly lanes: number;
  /** Every kind caught up (else the budget ran out or it was stopped). */
  readonly done: boolean;
}

export async function sweep(pool: pg.Pool, options: SweepOptions): Promise<SweepResult> {
  const { now, retentionDays, limit = 10_000, budgetMs = 20_000, signal } = options;
  const batches = {
    purged: () => purgeDeleted(pool, { now, limit }),
    // Before the lanes: a lane left with nothing pending goes in the same round.
    dormant: () => expireDormant(pool, { now, retentionDays, limit }),
    expired: () => expireDeliveries(pool, { now, retentionDays, limit }),
    lanes: () => dropIdleLanes(pool, { now, limit }),
  };
  const totals = { purged: 0, dormant: 0, expired: 0, lanes: 0 };
  let open = Object.keys(batches) as (keyof typeof batches)[];
  const deadline = performance.now() + budgetMs;
  do {
    for (const kind of open) {
      if (signal?.aborted) break;
      const removed = await batches[kind]();
      totals[kind] += removed;
      if (removed < limit) open = open.filter((k) => k !== kind);
      await yieldNow();
    }
  } while (open.length > 0 && !signal?.aborted && performance.now() < deadline);
  return { ...totals, done: open.length === 0 };
}
