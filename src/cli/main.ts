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
import {
  type Command,
  type CommandSpec,
  defineCommand,
  type OptionSpecs,
  parseCommandLine,
} from './commandLine.ts';
import { accessLog, keysCreate, keysList, keysRevoke } from './keys.ts';
import { createProgress } from './progress.ts';
import {
  openRuntime,
  type Running,
  type Runtime,
  spawnTransactionService,
  startApi,
  startNotifyRole,
  startOpsRole,
  startProjector,
  startSchedulerRole,
} from './runtime.ts';
import { settleWithdrawal } from './settle.ts';
import { runUntilSignalled } from './supervision.ts';
import { formatTraced, traceEvents } from './trace.ts';

/** What a command gets besides its arguments. */
interface Cli {
  /** Configuration, logger, database and event store: opened on first use, closed after a tool. */
  runtime(): Promise<Runtime>;
}

/** The database the bundled transaction-service keeps its books in, beside the ledger's. */
const TRANSACTION_SERVICE_DATABASE = 'transaction_service';

/**
 * The api, and with `all` the projector, the scheduler, the notify role and (unless one is named) a
 * payout service.
 */
async function serve(cli: Cli, all: boolean): Promise<number> {
  const runtime = await cli.runtime();
  const { config, log } = runtime;
  const roles: Running[] = [];
  try {
    if (all) {
      roles.push(startProjector(runtime));
      let thirdParty = config.transactionServiceUrl;
      if (!thirdParty) {
        const service = await spawnTransactionService(config, log, transactionServiceEnv(runtime));
        roles.push(service);
        thirdParty = service.url as string;
      }
      roles.push(await startSchedulerRole(runtime, thirdParty));
    }
    const api = await startApi(runtime);
    roles.push(api);
    const ops = await startOpsRole(runtime);
    if (ops) roles.push(ops);
    // After the api, which creates the webhook registrations the notify role reads.
    if (all) roles.push(startNotifyRole(runtime));
    log.info(`wallet ledger listening on ${api.url} (OpenAPI UI at ${api.url}/docs)`);
  } catch (error) {
    for (const role of roles.reverse()) await role.stop().catch(() => {});
    throw error;
  }
  return runUntilSignalled(runtime, roles);
}

/**
 * The bundled transaction-service keeps its books in a database of its own on the ledger's
 * PostgreSQL (it creates it), unless TRANSACTION_SERVICE_DATABASE_URL names one.
 */
function transactionServiceEnv(runtime: Runtime): Record<string, string> {
  if (process.env.TRANSACTION_SERVICE_DATABASE_URL) return {};
  const url = new URL(runtime.db.url);
  url.pathname = `/${TRANSACTION_SERVICE_DATABASE}`;
  return { TRANSACTION_SERVICE_DATABASE_URL: url.toString() };
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

/** One entry of the table; its options' names and value types reach its `run`. */
const command = <O extends OptionSpecs = Record<never, never>>(spec: CommandSpec<Cli, O>) =>
  defineCommand(spec);

/**
 * Every command, once: the usage, the dispatch and the checking of arguments and options come
 * from this table. A new command is one more entry (README, "CLI").
 */
const COMMANDS: readonly Command<Cli>[] = [
  command({
    name: 'start',
    role: true,
    description:
      'every role: api, projector, scheduler, notify, and the transaction-service as a child process ' +
      '(restarted if it crashes) unless TRANSACTION_SERVICE_URL is set (what npm start runs)',
    run: (cli) => serve(cli, true),
  }),
  command({
    name: 'serve',
    role: true,
    description: 'the api only',
    run: (cli) => serve(cli, false),
  }),
  command({
    name: 'project',
    role: true,
    description: 'the projector only (one active per database, others stand by)',
    run: async (cli) => {
      const runtime = await cli.runtime();
      const projector = startProjector(runtime);
      const ops = await startOpsRole(runtime, () => ({ active: projector.isActive() }));
      return runUntilSignalled(runtime, ops ? [projector, ops] : [projector]);
    },
  }),
  command({
    name: 'schedule',
    role: true,
    description: 'the scheduler only (several may run; needs TRANSACTION_SERVICE_URL)',
    run: async (cli) => {
      const runtime = await cli.runtime();
      const url = runtime.config.transactionServiceUrl;
      if (!url) {
        console.error('schedule needs TRANSACTION_SERVICE_URL (the payout service to call).');
        await runtime.close();
        return 2;
      }
      const scheduler = await startSchedulerRole(runtime, url);
      const ops = await startOpsRole(runtime);
      return runUntilSignalled(runtime, ops ? [scheduler, ops] : [scheduler]);
    },
  }),
  command({
    name: 'notify',
    role: true,
    description:
      'the notify role only: webhook deliveries (several may run; one writes the outbox, all deliver)',
    run: async (cli) => {
      const runtime = await cli.runtime();
      const notify = startNotifyRole(runtime);
      const ops = await startOpsRole(runtime, () => ({
        outbox: notify.isActive() ? 'active' : 'standby',
        // Endpoints left to other instances: this one lacks their WEBHOOK_SECRET_KEY.
        unreadable_webhook_secrets: notify.unreadableSecrets(),
      }));
      return runUntilSignalled(runtime, ops ? [notify, ops] : [notify]);
    },
  }),
  command({
    name: 'transaction-service',
    role: true,
    description:
      'the third-party payout stand-in only (TRANSACTION_SERVICE_PORT; its books in ' +
      'TRANSACTION_SERVICE_DATABASE_URL, or in memory without it)',
    run: async () => {
      await import('../../transaction-service/main.ts');
      return new Promise<number>(() => {}); // it exits by itself on SIGTERM/SIGINT
    },
  }),
  command({
    name: 'rebuild',
    description: 'replay every event into fresh read models and swap them in',
    run: async (cli) => {
      const runtime = await cli.runtime();
      const progress = createProgress('rebuild');
      const result = await rebuildReadModel({
        store: runtime.store,
        pool: runtime.db.pool,
        onProgress: ({ done, total }) => progress.update(done, total),
        countEvents: runtime.config.eventStoreUrl
          ? undefined
          : () => countEvents(runtime.db.pool, WALLET_STREAM_PREFIX),
      });
      progress.finish(
        `rebuilt the read models from ${result.events} events in ${(result.elapsedMs / 1000).toFixed(1)} s ` +
          `(${result.caughtUpInSwap} applied during the swap)`,
      );
      return 0;
    },
  }),
  command({
    name: 'verify',
    description: 'compare the read models with a replay of every stream; exit 1 on drift',
    run: async (cli) => {
      const runtime = await cli.runtime();
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
    },
  }),
  command({
    name: 'history',
    args: ['<wallet>'],
    description: "print a wallet's every event and the balance after each",
    run: async (cli, { args }) => history(await cli.runtime(), args[0]),
  }),
  command({
    name: 'keys create',
    options: {
      owner: { type: 'string', value: 'owner', description: 'the owner whose wallets it acts on' },
      scope: {
        type: 'string',
        value: 'scope',
        multiple: true,
        description:
          'wallets:read, wallets:write, withdrawals:write, webhooks:write (default: all)',
      },
      name: { type: 'string', value: 'name', description: 'what the key is for' },
      operator: { type: 'boolean', description: 'an operator key (every wallet, keys, the audit)' },
    },
    description: 'make an API key; it is printed once (as JSON) and stored only as a hash',
    run: async (cli, { options }) =>
      keysCreate(await cli.runtime(), {
        owner: options.owner,
        scopes: options.scope?.flatMap((scope) => scope.split(',')),
        name: options.name,
        operator: options.operator,
      }),
  }),
  command({
    name: 'keys list',
    description: 'every API key, without secrets: owner or operator, scopes, created, last used',
    run: async (cli) => keysList(await cli.runtime()),
  }),
  command({
    name: 'keys revoke',
    args: ['<key id>'],
    description: 'revoke a key: every API instance refuses it within a second',
    run: async (cli, { args }) => keysRevoke(await cli.runtime(), args[0]),
  }),
  command({
    name: 'audit access',
    options: {
      from: { type: 'string', value: 'ISO time', description: 'refusals at or after' },
      to: { type: 'string', value: 'ISO time', description: 'refusals before' },
      status: { type: 'string', value: '401|403|429', description: 'only this status' },
      key: { type: 'string', value: 'key id', description: 'only this key' },
      limit: { type: 'string', value: 'N', description: 'at most N, newest first (default 100)' },
    },
    description: 'refused requests (401, 403, 429) from the access log',
    run: async (cli, { options }) => accessLog(await cli.runtime(), options),
  }),
  command({
    name: 'trace',
    args: ['<id>'],
    description:
      "a withdrawal's (or deposit's) whole life, or every event one request caused (its " +
      'X-Request-Id), with who caused each event and its correlation ids',
    run: async (cli, { args }) => {
      const runtime = await cli.runtime();
      const id = (args[0] ?? '').trim();
      const events = await traceEvents(runtime, isUuid(id) ? id.toLowerCase() : id, (seen) =>
        process.stderr.write(`\rscanning the log: ${seen} events`),
      );
      if (events.length === 0) {
        console.error(`No events for ${id}.`);
        return 1;
      }
      for (const event of events) console.log(formatTraced(event));
      return 0;
    },
  }),
  command({
    name: 'settle',
    args: ['<wallet>', '<withdrawal>', 'paid|not-paid'],
    options: {
      force: {
        type: 'boolean',
        description: 'settle although a request is outstanding or a scheduler is working on it',
      },
      by: { type: 'string', value: 'operator', description: 'who settles it (default: $USER)' },
    },
    description:
      "end a withdrawal whose payout outcome the scheduler cannot learn, as the bank's records " +
      'say (paid: success; not-paid: failed and refunded)',
    run: async (cli, { args, options }) => {
      const [walletId = '', withdrawalId = '', verdict = ''] = args.map((a) => a.toLowerCase());
      if (!isUuid(walletId) || !isUuid(withdrawalId) || !['paid', 'not-paid'].includes(verdict)) {
        console.error(
          'usage: npm run cli -- settle <wallet> <withdrawal> paid|not-paid [--force] [--by <operator>]',
        );
        return 2;
      }
      return settleWithdrawal(await cli.runtime(), {
        walletId,
        withdrawalId,
        verdict: verdict === 'paid' ? 'paid' : 'not_paid',
        force: options.force ?? false,
        by: options.by,
      });
    },
  }),
];

const PROGRAM = {
  name: 'npm run cli --',
  footer:
    'Configuration comes from the environment (see README): PORT, DATA_DIR, DATABASE_URL,\n' +
    'EVENTSTORE_URL, LOG_LEVEL, DEFAULT_CURRENCY, ...',
};

async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(COMMANDS, argv, PROGRAM);
  if (parsed.kind === 'help') {
    console.log(parsed.text);
    return 0;
  }
  if (parsed.kind === 'usage-error') {
    console.error(parsed.text);
    return 2;
  }
  const { command, input } = parsed;
  setMetricsRole(command.name);
  let runtime: Promise<Runtime> | undefined;
  const cli: Cli = {
    runtime: () => {
      runtime ??= (async () => {
        const config = loadConfig();
        return openRuntime(config, createLogger(command.name, config.logLevel));
      })();
      return runtime;
    },
  };
  let finished = false;
  try {
    const code = await command.run(cli, input);
    finished = true;
    return code;
  } finally {
    // A role's runtime is closed when the role stops (runUntilSignalled); a tool's here, and a
    // role's too when it failed to start.
    if (runtime && (!command.role || !finished)) {
      await runtime.then((opened) => opened.close()).catch(() => {});
    }
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
