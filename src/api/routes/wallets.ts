// The wallet endpoints: the original service's four, and audit, as-of, listing and cancel.
// Commands answer from the stream state they were decided on; reads come from the read model,
// waiting briefly for it when the client names a revision it has not reached (read-your-writes).
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import {
  listTransactions,
  type ProjectionWaiter,
  readWalletRevision,
  readWalletView,
  type WalletView,
} from '../../../projections/queries.ts';
import type { WalletCommandHandler } from '../../commands/walletCommandHandler.ts';
import { walletStreamId } from '../../domain/events.ts';
import { type Wallet, WalletError } from '../../domain/wallet.ts';
import type { EventStore } from '../../eventstore/eventStore.ts';
import { isUuid, uuidFromName } from '../../infra/ids.ts';
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
  TransactionsQuery,
  TransactionsResponse,
  WalletParams,
  WalletQuery,
  WalletResponse,
  WithdrawalParams,
  WithdrawBody,
} from '../schemas.ts';
import { renderTransaction, renderWallet, viewOfWallet } from '../walletJson.ts';

export interface WalletRoutesOptions {
  readonly commands: WalletCommandHandler;
  readonly store: EventStore;
  readonly pool: pg.Pool;
  readonly waiter: ProjectionWaiter;
  readonly defaultCurrency: string;
  readonly clock?: () => Date;
  /** How long a read waits for the projection before answering from the stream. */
  readonly readWaitMs?: number;
  /** Where links point (PUBLIC_URL); absent: the request's own scheme and host. */
  readonly publicUrl?: string | undefined;
}

/** Namespace of wallet ids derived from idempotency keys (a retried create finds its wallet). */
const WALLET_ID_NAMESPACE = '4b0e6a52-5c1e-4f0e-9a59-5d3c2a8e7f10';

const notFound = () => new WalletError('not_found', 'Not found.');

function walletIdOf(id: string): string {
  if (!isUuid(id)) throw notFound();
  return id.toLowerCase();
}

export const walletRoutes: FastifyPluginAsyncTypebox<WalletRoutesOptions> = async (
  app,
  options,
) => {
  const { commands, store, pool, waiter, defaultCurrency, readWaitMs = 2000 } = options;
  const clock = options.clock ?? (() => new Date());
  const baseUrl = (request: FastifyRequest) =>
    options.publicUrl ?? `${request.protocol}://${request.host}`;
  const errors = { 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse };

  const sendWallet = (request: FastifyRequest, reply: FastifyReply, view: WalletView, code = 200) =>
    reply
      .code(code)
      .header('etag', etagOf(view.revision))
      .send(renderWallet(view, baseUrl(request)));
  const sendCommandResult = (
    request: FastifyRequest,
    reply: FastifyReply,
    wallet: Wallet,
    code = 200,
  ) => sendWallet(request, reply, viewOfWallet(wallet), code);

  /** The read model's view once it has `revision` (if given); the stream's if it lags or misses. */
  async function currentView(walletId: string, revision?: bigint): Promise<WalletView | undefined> {
    if (revision !== undefined) {
      const reached = await waiter.waitFor(
        async () => ((await readWalletRevision(pool, walletId)) ?? -1n) >= revision,
        readWaitMs,
      );
      if (!reached) return streamView(walletId);
    }
    return (await readWalletView(pool, walletId)) ?? streamView(walletId);
  }

  async function streamView(walletId: string): Promise<WalletView | undefined> {
    const wallet = await commands.load(walletId);
    return wallet ? viewOfWallet(wallet) : undefined;
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
      const idempotency = readIdempotency(
        request.headers['idempotency-key'],
        'create-wallet',
        body,
      );
      const walletId = idempotency
        ? uuidFromName(WALLET_ID_NAMESPACE, idempotency.key)
        : randomUUID();
      const { wallet } = await commands.handle(walletId, {
        type: 'CreateWallet',
        walletId,
        currency: body.currency ?? defaultCurrency,
        owner: body.owner ?? null,
        ...(idempotency ? { idempotency } : {}),
      });
      reply.header('location', `/api/wallets/${walletId}/`);
      return sendCommandResult(request, reply, wallet, 201);
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
        if (!wallet) throw notFound();
        return sendCommandResult(request, reply, wallet);
      }
      const known = revisionsFromETags(request.headers['if-none-match']);
      // The client has seen at least the lowest revision it names: wait for the read model to
      // reach that, then any revision named that is current is a 304.
      const wanted =
        request.query.min_revision !== undefined ? BigInt(request.query.min_revision) : known[0];
      const view = await currentView(walletId, wanted);
      if (!view) throw notFound();
      if (known.includes(view.revision))
        return reply
          .code(304)
          .header('etag', etagOf(view.revision))
          .send('' as never);
      return sendWallet(request, reply, view);
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
      const idempotency = readIdempotency(
        request.headers['idempotency-key'],
        'deposit',
        request.body,
      );
      const { wallet } = await commands.handle(walletId, {
        type: 'Deposit',
        depositId: randomUUID(),
        amount: request.body.amount,
        ...(idempotency ? { idempotency } : {}),
      });
      return sendCommandResult(request, reply, wallet);
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
      const idempotency = readIdempotency(request.headers['idempotency-key'], 'withdraw', body);
      const scheduledTime = parseSchedule(body, clock());
      let target: { walletId: string; currency: string } | null = null;
      if (body.target) {
        const targetId = body.target.toLowerCase();
        // The wallet itself as target is refused by the decider, with its own message.
        const found = targetId === walletId ? null : await commands.load(targetId);
        if (targetId !== walletId && !found) {
          const message = `Invalid pk "${body.target}" - object does not exist.`;
          throw new WalletError('invalid', message, { target: [message] });
        }
        target = { walletId: targetId, currency: found?.currency ?? '' };
      }
      const { wallet } = await commands.handle(walletId, {
        type: 'ScheduleWithdrawal',
        withdrawalId: randomUUID(),
        amount: body.amount,
        scheduledTime,
        target,
        ...(idempotency ? { idempotency } : {}),
      });
      return sendCommandResult(request, reply, wallet, 201);
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
      const idempotency = readIdempotency(request.headers['idempotency-key'], 'cancel', {
        withdrawalId,
      });
      const { wallet } = await commands.handle(walletId, {
        type: 'CancelWithdrawal',
        withdrawalId,
        ...(idempotency ? { idempotency } : {}),
      });
      return sendCommandResult(request, reply, wallet);
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
      const { status, kind, cursor, min_revision } = request.query;
      const limit = parseLimit(request.query.limit, 100, 20);
      const view = await currentView(
        walletId,
        min_revision === undefined ? undefined : BigInt(min_revision),
      );
      if (!view) throw notFound();
      const beforeRevision = cursor === undefined ? undefined : decodeCursor(cursor);
      const page = await listTransactions(pool, walletId, { status, kind, limit, beforeRevision });
      const next = new URL(`${baseUrl(request)}${request.url}`);
      if (page.nextBefore !== undefined)
        next.searchParams.set('cursor', encodeCursor(page.nextBefore));
      return {
        next: page.nextBefore === undefined ? null : next.toString(),
        results: page.items.map((t) => renderTransaction(t, view.currency)),
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
      const stream = walletStreamId(walletId);
      const events = await store.readStream(stream, { fromRevision, maxCount: limit + 1 });
      // Past the end of a wallet's history is an empty page; no wallet at all is a 404.
      if (events.length === 0) {
        if (fromRevision === 0n) throw notFound();
        const first = await store.readStream(stream, { fromRevision: 0n, maxCount: 1 });
        if (first.length === 0) throw notFound();
      }
      const page = events.slice(0, limit);
      const next = new URL(`${baseUrl(request)}/api/wallets/${walletId}/history/`);
      next.searchParams.set('from_revision', String(fromRevision + BigInt(limit)));
      next.searchParams.set('limit', String(limit));
      return {
        wallet: walletId,
        next: events.length > limit ? next.toString() : null,
        events: page.map((e) => ({
          type: e.type,
          revision: Number(e.revision),
          position: {
            commit: e.position.commit.toString(),
            prepare: e.position.prepare.toString(),
          },
          recorded_at: e.recordedAt.toISOString(),
          data: e.data,
        })),
      };
    },
  );
};

function encodeCursor(revision: bigint): string {
  return Buffer.from(`r${revision}`).toString('base64url');
}

function decodeCursor(cursor: string): bigint {
  const text = Buffer.from(cursor, 'base64url').toString();
  if (!/^r\d{1,18}$/.test(text))
    throw new WalletError('invalid', 'Invalid cursor.', { cursor: ['Invalid cursor.'] });
  return BigInt(text.slice(1));
}
