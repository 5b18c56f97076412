// The wallet endpoints: the original service's four, and audit, as-of, listing and cancel.
// Every read reflects every command acknowledged before it, by any instance (read your writes, as
// the original did): commands answer from the stream state they were decided on; the wallet
// document, its history and `?at=` come from the stream (the cached fold plus a read of its
// tail); a transaction list waits until the read model holds the stream's current revision.
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import {
  listTransactions,
  type ProjectionWaiter,
  readWalletRevision,
} from '../../../projections/queries.ts';
import { isReadModelCurrent } from '../../../projections/readModelSchema.ts';
import {
  actorOf,
  idempotencyNamespace,
  mayAccessWallet,
  ownerForNewWallet,
} from '../../access/principal.ts';
import type { CommandContext } from '../../commands/metadata.ts';
import { settleWithdrawal } from '../../commands/settleWithdrawal.ts';
import { toWalletEvent, type WalletCommandHandler } from '../../commands/walletCommandHandler.ts';
import { WalletNotFound } from '../../domain/errors.ts';
import { walletStreamId } from '../../domain/events.ts';
import { formatAmount } from '../../domain/money.ts';
import { evolve, fold, type Wallet, type WalletState } from '../../domain/wallet.ts';
import type { EventStore } from '../../eventstore/eventStore.ts';
import { isUuid, uuidFromName } from '../../infra/ids.ts';
import { eventJson } from '../eventJson.ts';
import { fieldError, RequestError } from '../requestError.ts';
import {
  etagOf,
  parseDateTime,
  parseLimit,
  parseSchedule,
  readIdempotency,
  refuseFields,
  revisionsFromETags,
} from '../requestParsing.ts';
import {
  CreateWalletBody,
  DepositBody,
  ErrorResponse,
  HistoryQuery,
  HistoryResponse,
  SettleBody,
  TransactionsQuery,
  TransactionsResponse,
  WalletParams,
  WalletQuery,
  WalletResponse,
  WithdrawalParams,
  WithdrawBody,
} from '../schemas.ts';
import { renderTransaction, renderWallet } from '../walletJson.ts';

export interface WalletRoutesOptions {
  readonly commands: WalletCommandHandler;
  readonly store: EventStore;
  readonly pool: pg.Pool;
  readonly waiter: ProjectionWaiter;
  readonly defaultCurrency: string;
  readonly clock?: () => Date;
  /** How long a list waits for the read model to reach the stream's revision before a 503. */
  readonly readWaitMs?: number;
  /** Where links point (PUBLIC_URL); absent: the request's own scheme and host. */
  readonly publicUrl?: string | undefined;
}

/** Namespace of wallet ids derived from idempotency keys (a retried create finds its wallet). */
const WALLET_ID_NAMESPACE = '4b0e6a52-5c1e-4f0e-9a59-5d3c2a8e7f10';

export function walletIdOf(id: string): string {
  if (!isUuid(id)) throw new WalletNotFound();
  return id.toLowerCase();
}

/**
 * Who asked, for the events a request makes, and the wallets they may act on (an owner key: its
 * own; another owner's wallet is refused as an unknown one).
 */
const contextOf = (request: FastifyRequest): CommandContext => ({
  actor: actorOf(request.principal),
  correlationId: request.id,
  mayActOn: (owner) => mayAccessWallet(request.principal, owner),
});

/**
 * The request's Idempotency-Key in its principal's namespace: two owners using the same key never
 * see each other's results (AUTH=off: the one namespace of old).
 */
function idempotencyOf(request: FastifyRequest, operation: string, body: unknown) {
  const idempotency = readIdempotency(request.headers['idempotency-key'], operation, body);
  const namespace = idempotencyNamespace(request.principal);
  return idempotency && namespace
    ? { ...idempotency, key: `${namespace}|${idempotency.key}` }
    : idempotency;
}

export const walletRoutes: FastifyPluginAsyncTypebox<WalletRoutesOptions> = async (
  app,
  options,
) => {
  const { commands, store, pool, waiter, defaultCurrency, readWaitMs = 5000 } = options;
  const clock = options.clock ?? (() => new Date());
  const baseUrl = (request: FastifyRequest) =>
    options.publicUrl ?? `${request.protocol}://${request.host}`;
  const errors = { 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse };

  const sendWallet = (request: FastifyRequest, reply: FastifyReply, wallet: Wallet, code = 200) =>
    reply
      .code(code)
      .header('etag', etagOf(wallet.revision))
      .type('application/json; charset=utf-8')
      .send(renderWallet(wallet, baseUrl(request)));

  /**
   * The wallet as its stream holds it now (the cached fold and whatever was appended since), if
   * the request's principal may see it; else not found, as an unknown one.
   */
  async function currentWallet(request: FastifyRequest, walletId: string): Promise<Wallet> {
    const wallet = await commands.load(walletId);
    if (!wallet || !mayAccessWallet(request.principal, wallet.owner)) throw new WalletNotFound();
    return wallet;
  }

  /** Waits until the read model holds `revision` of the wallet: a list then shows every write. */
  async function readModelAt(walletId: string, revision: bigint): Promise<void> {
    const behind = (detail: string) => new RequestError(503, { detail }, { 'retry-after': '1' });
    if (!(await isReadModelCurrent(pool))) {
      throw behind('The read models are being rebuilt for a new version; try again shortly.');
    }
    const reached = await waiter.waitFor(
      async () => ((await readWalletRevision(pool, walletId)) ?? -1n) >= revision,
      readWaitMs,
    );
    if (!reached) throw behind('The read models are catching up with recent changes; try again.');
  }

  app.post(
    '/api/wallets/',
    {
      config: { scope: 'wallets:write' },
      schema: {
        summary: 'Create a wallet',
        body: Type.Optional(CreateWalletBody),
        response: { 201: WalletResponse, ...errors },
      },
      // The original accepted a bare POST: no body is an empty one.
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request, reply) => {
      const body = request.body ?? {};
      const idempotency = idempotencyOf(request, 'create-wallet', body);
      const walletId = idempotency
        ? uuidFromName(WALLET_ID_NAMESPACE, idempotency.key)
        : randomUUID();
      const { wallet } = await commands.handle(
        walletId,
        {
          type: 'CreateWallet',
          walletId,
          currency: body.currency ?? defaultCurrency,
          owner: ownerForNewWallet(request.principal, body.owner),
          ...(idempotency ? { idempotency } : {}),
        },
        contextOf(request),
      );
      reply.header('location', `/api/wallets/${walletId}/`);
      return sendWallet(request, reply, wallet, 201);
    },
  );

  app.get(
    '/api/wallets/:id/',
    {
      config: { scope: 'wallets:read' },
      schema: {
        summary: 'A wallet with its transactions (optionally as of a past moment)',
        params: WalletParams,
        querystring: WalletQuery,
        response: { 200: WalletResponse, ...errors },
      },
    },
    async (request, reply) => {
      const walletId = walletIdOf(request.params.id);
      if (request.query.at !== undefined) {
        const at = parseDateTime(request.query.at, 'at');
        const wallet = await commands.loadAsOf(walletId, { time: at });
        if (!wallet) throw new WalletNotFound();
        await currentWallet(request, walletId); // may this principal see it at all
        return sendWallet(request, reply, wallet);
      }
      // Current by construction: `min_revision` (once a way to wait for the read model) needs
      // nothing more and is accepted for old clients.
      const wallet = await currentWallet(request, walletId);
      if (revisionsFromETags(request.headers['if-none-match']).includes(wallet.revision)) {
        return reply
          .code(304)
          .header('etag', etagOf(wallet.revision))
          .send('' as never);
      }
      return sendWallet(request, reply, wallet);
    },
  );

  app.patch(
    '/api/wallets/:id/deposit/',
    {
      config: { scope: 'wallets:write' },
      schema: {
        summary: 'Deposit into a wallet',
        params: WalletParams,
        body: DepositBody,
        response: { 200: WalletResponse, ...errors },
      },
    },
    async (request, reply) => {
      const walletId = walletIdOf(request.params.id);
      const idempotency = idempotencyOf(request, 'deposit', request.body);
      const { wallet } = await commands.handle(
        walletId,
        {
          type: 'Deposit',
          depositId: randomUUID(),
          amount: request.body.amount,
          ...(idempotency ? { idempotency } : {}),
        },
        contextOf(request),
      );
      return sendWallet(request, reply, wallet);
    },
  );

  app.post(
    '/api/wallets/:id/withdraw/',
    {
      config: { scope: 'withdrawals:write' },
      schema: {
        summary: 'Schedule a withdrawal',
        description: 'The balance is checked when it is due, not now.',
        params: WalletParams,
        body: WithdrawBody,
        response: { 201: WalletResponse, ...errors },
      },
    },
    async (request, reply) => {
      const walletId = walletIdOf(request.params.id);
      const body = request.body;
      const idempotency = idempotencyOf(request, 'withdraw', body);
      const scheduledTime = parseSchedule(body, clock());
      // The target as found now; the decider judges it (exists, another wallet, same currency).
      let target = null;
      if (body.target) {
        const targetId = body.target.toLowerCase();
        const found = targetId === walletId ? null : await commands.load(targetId);
        target = {
          walletId: targetId,
          found: found && { walletId: targetId, currency: found.currency },
        };
      }
      const { wallet } = await commands.handle(
        walletId,
        {
          type: 'ScheduleWithdrawal',
          withdrawalId: randomUUID(),
          amount: body.amount,
          scheduledTime,
          target,
          ...(idempotency ? { idempotency } : {}),
        },
        contextOf(request),
      );
      return sendWallet(request, reply, wallet, 201);
    },
  );

  app.post(
    '/api/wallets/:id/withdrawals/:withdrawalId/cancel/',
    {
      config: { scope: 'withdrawals:write' },
      schema: {
        summary: 'Cancel a withdrawal that has not started',
        params: WithdrawalParams,
        response: { 200: WalletResponse, ...errors },
      },
    },
    async (request, reply) => {
      const walletId = walletIdOf(request.params.id);
      const withdrawalId = walletIdOf(request.params.withdrawalId);
      refuseFields(request.body);
      const idempotency = idempotencyOf(request, 'cancel', { withdrawalId });
      const { wallet } = await commands.handle(
        walletId,
        { type: 'CancelWithdrawal', withdrawalId, ...(idempotency ? { idempotency } : {}) },
        contextOf(request),
      );
      return sendWallet(request, reply, wallet);
    },
  );

  app.post(
    '/api/wallets/:id/withdrawals/:withdrawalId/settle/',
    {
      config: { operatorOnly: true },
      schema: {
        summary: 'Settle a withdrawal whose payout outcome the scheduler cannot learn (operators)',
        description:
          "From the bank's own records: `paid` succeeds it (a target wallet is then credited), " +
          '`not_paid` fails and refunds it. Refused (409) while a scheduler is working on it or a ' +
          'request is outstanding whose outcome the third party can still tell, unless `force`.',
        params: WithdrawalParams,
        body: SettleBody,
        response: { 200: WalletResponse, ...errors },
      },
    },
    async (request, reply) => {
      const walletId = walletIdOf(request.params.id);
      const withdrawalId = walletIdOf(request.params.withdrawalId);
      const { principal } = request;
      const { wallet } = await settleWithdrawal(
        commands,
        pool,
        {
          walletId,
          withdrawalId,
          verdict: request.body.verdict,
          force: request.body.force ?? false,
          operator: principal.kind === 'operator' ? principal.name : 'anonymous',
        },
        contextOf(request),
      );
      return sendWallet(request, reply, wallet);
    },
  );

  app.get(
    '/api/wallets/:id/transactions/',
    {
      config: { scope: 'wallets:read' },
      schema: {
        summary: "A wallet's deposits, withdrawals and transfers received, newest first",
        params: WalletParams,
        querystring: TransactionsQuery,
        response: { 200: TransactionsResponse, ...errors },
      },
    },
    async (request) => {
      const walletId = walletIdOf(request.params.id);
      const { status, kind, cursor } = request.query;
      const limit = parseLimit(request.query.limit, 100, 20);
      const wallet = await currentWallet(request, walletId);
      await readModelAt(walletId, wallet.revision);
      const beforeRevision = cursor === undefined ? undefined : decodeCursor(cursor);
      const page = await listTransactions(pool, walletId, { status, kind, limit, beforeRevision });
      const next = new URL(`${baseUrl(request)}${request.url}`);
      if (page.nextBefore !== undefined)
        next.searchParams.set('cursor', encodeCursor(page.nextBefore));
      return {
        next: page.nextBefore === undefined ? null : next.toString(),
        results: page.items.map((t) => renderTransaction(t, wallet.currency)),
      };
    },
  );

  app.get(
    '/api/wallets/:id/history/',
    {
      config: { scope: 'wallets:read' },
      schema: {
        summary: "Every event of a wallet's stream, in order: the audit trail",
        params: WalletParams,
        querystring: HistoryQuery,
        response: { 200: HistoryResponse, ...errors },
      },
    },
    async (request) => {
      const walletId = walletIdOf(request.params.id);
      const fromRevision = BigInt(request.query.from_revision ?? '0');
      const limit = parseLimit(request.query.limit, 10_000, 1000);
      // No wallet at all (or another owner's) is a 404; past the end of one, an empty page.
      await currentWallet(request, walletId);
      const stream = walletStreamId(walletId);
      const events = await store.readStream(stream, { fromRevision, maxCount: limit + 1 });
      const page = events.slice(0, limit);
      // The balance after each event: the stream folded from its start up to it.
      let state: WalletState =
        fromRevision > 0n && page.length > 0
          ? fold(
              (await store.readStream(stream, { maxCount: Number(fromRevision) })).map(
                toWalletEvent,
              ),
            )
          : null;
      const next = new URL(`${baseUrl(request)}/api/wallets/${walletId}/history/`);
      next.searchParams.set('from_revision', String(fromRevision + BigInt(limit)));
      next.searchParams.set('limit', String(limit));
      return {
        wallet: walletId,
        next: events.length > limit ? next.toString() : null,
        events: page.map((event) => {
          state = evolve(state, toWalletEvent(event));
          return {
            ...eventJson(event),
            balance_after: state ? formatAmount(state.balance, state.currency) : null,
          };
        }),
      };
    },
  );
};

function encodeCursor(revision: bigint): string {
  return Buffer.from(`r${revision}`).toString('base64url');
}

function decodeCursor(cursor: string): bigint {
  const text = Buffer.from(cursor, 'base64url').toString();
  if (!/^r\d{1,18}$/.test(text)) throw fieldError('cursor', 'Invalid cursor.');
  return BigInt(text.slice(1));
}
