// What every section gets: the database, the sizes of this run (full or --quick) and a progress log.
import type pg from 'pg';
import type { EventStore } from '../src/eventstore/eventStore.ts';

export interface Sizes {
  /** Per ceiling / append figure. */
  readonly ceilingMs: number;
  /** Per command and query figure. */
  readonly loadMs: number;
  /** Warm-up before a section's first figure. */
  readonly warmupMs: number;
  /** Wallets the spread deposits and the queries pick from. */
  readonly wallets: number;
  /** Events appended with the projector stopped, then caught up. */
  readonly backlogEvents: number;
  /** Wallet events in the store when the rebuild runs. */
  readonly rebuildEvents: number;
  /** Withdrawals due at the same moment. */
  readonly withdrawals: number;
  /** How far ahead they are scheduled (they must be projected by then). */
  readonly withdrawalLeadMs: number;
  /** Deposits appended while the notify role is stopped, then delivered. */
  readonly webhookBacklog: number;
}

export const FULL: Sizes = {
  ceilingMs: 5000,
  loadMs: 10_000,
  warmupMs: 2000,
  wallets: 1000,
  backlogEvents: 100_000,
  rebuildEvents: 1_000_000,
  withdrawals: 1000,
  withdrawalLeadMs: 8000,
  webhookBacklog: 20_000,
};

export const QUICK: Sizes = {
  ceilingMs: 300,
  loadMs: 700,
  warmupMs: 0,
  wallets: 50,
  backlogEvents: 2000,
  rebuildEvents: 10_000,
  withdrawals: 50,
  withdrawalLeadMs: 3000,
  webhookBacklog: 500,
};

export interface Context {
  readonly quick: boolean;
  readonly sizes: Sizes;
  /** The benchmark's own database (created for this run). */
  readonly databaseUrl: string;
  readonly pool: pg.Pool;
  readonly store: EventStore;
  /** Extra node flags for the roles (e.g. --cpu-prof). */
  readonly roleFlags: (role: string) => string[];
  readonly progress: (message: string) => void;
  /** The embedded cluster's postmaster (for CPU figures); absent with DATABASE_URL. */
  readonly postmasterPid: number | undefined;
}
