// Payouts in tests: the transaction-service as its own process (as `npm start` runs it), schedulers
// on a stack's database and event store, and waiting for withdrawals to end, read from the wallet's
// stream (never stale).
import { createPayoutClient } from '../../scheduler/payoutClient.ts';
import { type Scheduler, startScheduler } from '../../scheduler/scheduler.ts';
import { spawnTransactionService } from '../../src/cli/runtime.ts';
import { createWalletCommandHandler } from '../../src/commands/walletCommandHandler.ts';
import type { Wallet, Withdrawal } from '../../src/domain/wallet.ts';
import type { EventStore } from '../../src/eventstore/eventStore.ts';
import { loadConfig } from '../../src/infra/config.ts';
import { createLogger } from '../../src/infra/logger.ts';
import { pollUntil } from './poll.ts';
import type { Teardown } from './process.ts';
import { type Http, httpClient, type StackDatabase } from './stack.ts';

export const ENDED = ['SUCCESS', 'FAILED', 'CANCELLED'];

export interface ThirdParty {
  readonly url: string;
  readonly http: Http;
  /** Payouts made, optionally only those with this key. */
  paid(key?: string): Promise<number>;
  /** Replaces its fault rules (PUT /faults). */
  setFaults(faults: unknown): Promise<void>;
}

/** The transaction-service, answering after `latencyMs` and never failing unless told to. */
export async function startThirdParty(t: Teardown, latencyMs: number): Promise<ThirdParty> {
  const service = await spawnTransactionService(
    loadConfig({ TRANSACTION_SERVICE_PORT: '0' }),
    createLogger('test', 'warn'),
    { TRANSACTION_SERVICE_LATENCY_MS: String(latencyMs), TRANSACTION_SERVICE_FAILURE_RATE: '0' },
  );
  t.teardown(() => service.stop());
  const url = service.url as string;
  const http = httpClient(url);
  return {
    url,
    http,
    paid: async (key) => {
      const { body } = await http('GET', '/transfers');
      return (body.transfers as { key: string | null }[]).filter(
        (p) => key === undefined || p.key === key,
      ).length;
    },
    setFaults: async (faults) => {
      const response = await http('PUT', '/faults', faults);
      if (response.status !== 200) throw new Error(`faults refused: ${response.text}`);
    },
  };
}

export interface SchedulerOptions {
  readonly timeoutMs?: number;
  readonly maxAttempts?: number;
  readonly concurrency?: number;
  readonly retryBaseMs?: number;
  readonly leaseMs?: number;
}

/** A scheduler on `stack` paying through `thirdPartyUrl`, stopped when `t` ends. */
export async function schedulerFor(
  t: Teardown,
  stack: { readonly db: StackDatabase; readonly store: EventStore },
  thirdPartyUrl: string,
  options: SchedulerOptions = {},
): Promise<Scheduler> {
  const payouts = createPayoutClient({
    baseUrl: thirdPartyUrl,
    timeoutMs: options.timeoutMs ?? 5000,
    connections: 64,
  });
  const scheduler = await startScheduler({
    pool: stack.db.pool,
    commands: createWalletCommandHandler(stack.store),
    payouts,
    concurrency: options.concurrency ?? 64,
    maxAttempts: options.maxAttempts ?? 3,
    retryBaseMs: options.retryBaseMs ?? 50,
    leaseMs: options.leaseMs ?? 5000,
    settleMs: 2000,
  });
  t.teardown(async () => {
    await scheduler.stop();
    await payouts.close();
  });
  return scheduler;
}

/** The wallet, from its stream, once `accept` holds for it. */
export function walletWhen(
  store: EventStore,
  walletId: string,
  what: string,
  accept: (wallet: Wallet) => boolean,
  timeoutMs = 30_000,
): Promise<Wallet> {
  const commands = createWalletCommandHandler(store);
  return pollUntil(what, async () => (await commands.load(walletId)) ?? undefined, {
    until: accept,
    timeoutMs,
    intervalMs: 50,
  });
}

/** The wallet once every withdrawal of it has ended, and its withdrawals. */
export async function settled(store: EventStore, walletId: string, timeoutMs = 30_000) {
  const withdrawalsOf = (wallet: Wallet | undefined | null): Withdrawal[] => [
    ...(wallet?.withdrawals.values() ?? []),
  ];
  const commands = createWalletCommandHandler(store);
  const wallet = await pollUntil(
    (last) =>
      `every withdrawal of ${walletId} to end: ${withdrawalsOf(last)
        .map((w) => `${w.id}:${w.status}`)
        .join(', ')}`,
    async () => (await commands.load(walletId)) ?? undefined,
    {
      until: (w) => withdrawalsOf(w).every((withdrawal) => ENDED.includes(withdrawal.status)),
      timeoutMs,
      intervalMs: 50,
    },
  );
  const withdrawals = withdrawalsOf(wallet);
  return { wallet, withdrawals, byId: new Map(withdrawals.map((w) => [w.id, w])) };
}
