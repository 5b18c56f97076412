// Lists across wallets, from the read models (what the console's overviews show):
//   GET /api/wallets/            the caller's wallets (an operator: every wallet; ?owner=, ?search=)
//   GET /api/withdrawals/        every wallet's withdrawals, those waiting for an operator first
//                                (operators; ?status=)
//   GET /api/status              projector checkpoint and lag, scheduler backlog (operators)
// Lists may trail the last acknowledged command by the projector's lag; one wallet's page reads
// its stream (wallets.ts).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type pg from 'pg';
import { listWallets } from '../../../projections/listWallets.ts';
import { listWithdrawals } from '../../../projections/listWithdrawals.ts';
import { countAwaitingSettlement, readProjectionStatus } from '../../../projections/queries.ts';
import { dueSummary } from '../../../scheduler/claims/dueSummary.ts';
import { formatAmount } from '../../domain/money.ts';
import { Nullable } from '../nullable.ts';
import { parseLimit } from '../requestParsing.ts';
import { ErrorResponse, TransactionStatus, WalletSummary } from '../schemas.ts';
import { renderWalletSummary } from '../walletJson.ts';
import { projectionJson } from './operations.ts';

export interface OverviewOptions {
  readonly pool: pg.Pool;
  readonly clock: () => Date;
}

const Limit = Type.String({
  pattern: '^\\d+$',
  maxLength: 30,
  description: '1 to 500, default 100',
});
const errors = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse };

export const overviewRoutes: FastifyPluginAsyncTypebox<OverviewOptions> = async (
  app,
  { pool, clock },
) => {
  app.get(
    '/api/wallets/',
    {
      config: { scope: 'wallets:read' },
      schema: {
        summary: 'Wallets, newest first: an owner’s own, or (operators) every wallet',
        querystring: Type.Object(
          {
            owner: Type.Optional(
              Type.String({ maxLength: 200, description: 'Operators: only this owner’s' }),
            ),
            search: Type.Optional(
              Type.String({ maxLength: 200, description: 'Id prefix, or part of the owner' }),
            ),
            limit: Type.Optional(Limit),
          },
          { additionalProperties: true },
        ),
        response: {
          200: Type.Object({
            results: Type.Array(WalletSummary),
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      const { principal } = request;
      const owner = principal.kind === 'owner' ? principal.owner : request.query.owner;
      const wallets = await listWallets(pool, {
        owner,
        search: request.query.search,
        limit: parseLimit(request.query.limit, 500, 100),
      });
      return { results: wallets.map(renderWalletSummary) };
    },
  );

  app.get(
    '/api/withdrawals/',
    {
      config: { operatorOnly: true },
      schema: {
        summary:
          'Withdrawals of every wallet; those waiting for an operator’s settle first (operators)',
        querystring: Type.Object(
          { status: Type.Optional(TransactionStatus), limit: Type.Optional(Limit) },
          { additionalProperties: true },
        ),
        response: {
          200: Type.Object({
            results: Type.Array(
              Type.Object({
                wallet: Type.String(),
                uuid: Type.String(),
                owner: Nullable(Type.String()),
                amount: Type.String(),
                currency: Type.String(),
                target: Nullable(Type.String()),
                status: Type.String(),
                error_message: Type.String(),
                scheduled_time: Nullable(Type.String()),
                awaiting_settlement: Type.Boolean(),
                updated: Type.String(),
              }),
            ),
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      const items = await listWithdrawals(pool, {
        status: request.query.status,
        limit: parseLimit(request.query.limit, 500, 100),
      });
      return {
        results: items.map((w) => ({
          wallet: w.walletId,
          uuid: w.id,
          owner: w.owner,
          amount: formatAmount(w.amount, w.currency),
          currency: w.currency,
          target: w.target,
          status: w.status,
          error_message: w.errorMessage,
          scheduled_time: w.scheduledTime?.toISOString() ?? null,
          awaiting_settlement: w.awaitingSettlement,
          updated: w.updatedAt.toISOString(),
        })),
      };
    },
  );

  app.get(
    '/api/status',
    {
      config: { operatorOnly: true },
      schema: {
        summary: 'Projector checkpoint and lag, scheduler backlog (operators)',
        response: {
          200: Type.Object({
            projection: Type.Object({
              last_event_recorded_at: Nullable(Type.String()),
              last_batch_at: Nullable(Type.String()),
              lag_ms: Nullable(Type.Number()),
            }),
            scheduler: Type.Object({
              backlog: Nullable(Type.Integer()),
              next_due_at: Nullable(Type.String()),
              awaiting_settlement: Type.Integer(),
            }),
          }),
          ...errors,
        },
      },
    },
    async () => {
      const [projection, awaiting, due] = await Promise.all([
        readProjectionStatus(pool),
        countAwaitingSettlement(pool),
        // The scheduler's tables exist once a scheduler has run against this database.
        dueSummary(pool, clock()).catch(() => undefined),
      ]);
      return {
        projection: projectionJson(projection),
        scheduler: {
          backlog: due?.backlog ?? null,
          next_due_at: due?.nextDueAt?.toISOString() ?? null,
          awaiting_settlement: awaiting,
        },
      };
    },
  );
};
