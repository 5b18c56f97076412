// Request and response shapes: validated by Fastify and published as the OpenAPI document.
import { type Static, Type } from '@sinclair/typebox';
import { Nullable } from './nullable.ts';

const Amount = Type.Union([Type.String({ maxLength: 64 }), Type.Number()], {
  description:
    'Decimal string in the wallet currency, e.g. "100.00" (a JSON number is read by its decimal text)',
  examples: ['100.00'],
});

export const WalletParams = Type.Object({ id: Type.String({ description: 'Wallet uuid' }) });
export const WithdrawalParams = Type.Object({
  id: Type.String({ description: 'Wallet uuid' }),
  withdrawalId: Type.String({ description: 'Withdrawal uuid' }),
});

export const CreateWalletBody = Type.Object(
  {
    currency: Type.Optional(
      Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217; default DEFAULT_CURRENCY' }),
    ),
    owner: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
  },
  { additionalProperties: false },
);

// Unknown query parameters are ignored, as the original ignored them (cache-busters like ?_=1).
const QUERY_OPTIONS = { additionalProperties: true };

export const DepositBody = Type.Object({ amount: Amount }, { additionalProperties: false });

export const WithdrawBody = Type.Object(
  {
    amount: Amount,
    scheduled_time: Type.Optional(
      Type.String({ maxLength: 64, description: 'ISO 8601 with offset, in the future' }),
    ),
    delay: Type.Optional(
      Type.Union([Type.String({ maxLength: 64 }), Type.Number()], {
        description: 'Seconds, or an ISO 8601 duration such as PT30S (instead of scheduled_time)',
      }),
    ),
    target: Type.Optional(
      Nullable(Type.String({ format: 'uuid' }), {
        description: 'Wallet credited on success; absent or null pays out to the owner',
      }),
    ),
  },
  { additionalProperties: false },
);
export type WithdrawBody = Static<typeof WithdrawBody>;

export const SettleBody = Type.Object(
  {
    verdict: Type.Union([Type.Literal('paid'), Type.Literal('not_paid')], {
      description: "What the bank's records say",
    }),
    force: Type.Optional(
      Type.Boolean({
        description:
          'Settle although a payout request is outstanding that the third party could still tell, or a scheduler is working on it',
      }),
    ),
  },
  { additionalProperties: false },
);

const Revision = Type.String({ pattern: '^\\d{1,18}$' });
// Query values are text (no type coercion anywhere): the route reads the number and its range.
const Limit = (max: number, byDefault: number) =>
  Type.String({
    pattern: '^\\d+$',
    maxLength: 30,
    description: `1 to ${max}, default ${byDefault}`,
  });

export const WalletQuery = Type.Object(
  {
    at: Type.Optional(
      Type.String({ maxLength: 64, description: 'ISO 8601: the wallet as of that moment' }),
    ),
    min_revision: Type.Optional(Revision),
  },
  QUERY_OPTIONS,
);

export const TransactionStatus = Type.Union([
  Type.Literal('PENDING'),
  Type.Literal('PROCESSING'),
  Type.Literal('SUCCESS'),
  Type.Literal('FAILED'),
  Type.Literal('CANCELLED'),
]);

export const TransactionsQuery = Type.Object(
  {
    status: Type.Optional(TransactionStatus),
    kind: Type.Optional(
      Type.Union([
        Type.Literal('deposit'),
        Type.Literal('withdrawal'),
        Type.Literal('transfer_in'),
      ]),
    ),
    limit: Type.Optional(Limit(100, 20)),
    cursor: Type.Optional(Type.String({ maxLength: 64 })),
    min_revision: Type.Optional(Revision),
  },
  QUERY_OPTIONS,
);

export const HistoryQuery = Type.Object(
  {
    from_revision: Type.Optional(Revision),
    limit: Type.Optional(Limit(10_000, 1000)),
  },
  QUERY_OPTIONS,
);

const Transaction = Type.Object({
  uuid: Type.String(),
  kind: Type.String(),
  amount: Type.String(),
  scheduled_time: Nullable(Type.String()),
  status: Type.String(),
  error_message: Type.String(),
  created: Type.String(),
  updated: Type.String(),
  target: Type.Optional(Nullable(Type.String())),
  source: Type.Optional(Type.String()),
});

const WalletFields = {
  uuid: Type.String(),
  currency: Type.String(),
  owner: Nullable(Type.String()),
  balance: Type.String(),
  created: Type.String(),
  updated: Type.String(),
};

/** A wallet in a list (without its transactions). */
export const WalletSummary = Type.Object(WalletFields);

export const WalletResponse = Type.Object({
  url: Type.String(),
  ...WalletFields,
  outgoing_transactions: Type.Array(Transaction),
  incoming_transactions: Type.Array(Transaction),
});

export const TransactionsResponse = Type.Object({
  next: Nullable(Type.String()),
  results: Type.Array(Transaction),
});

export const HistoryResponse = Type.Object({
  wallet: Type.String(),
  next: Nullable(Type.String()),
  events: Type.Array(
    Type.Object({
      type: Type.String(),
      revision: Type.Integer(),
      position: Type.Object({ commit: Type.String(), prepare: Type.String() }),
      recorded_at: Type.String(),
      data: Type.Unknown(),
      metadata: Type.Unknown({
        description: 'Who caused it (actor) and why ($correlationId, $causationId)',
      }),
      balance_after: Nullable(Type.String(), {
        description: 'The wallet’s balance once this event applied',
      }),
    }),
  ),
});

export const ErrorResponse = Type.Record(Type.String(), Type.Unknown(), {
  description: '{"detail": "..."} or field -> list of messages',
});
