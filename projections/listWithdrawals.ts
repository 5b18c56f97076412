import type pg from 'pg';
import type { WithdrawalStatus } from '../src/domain/wallet.ts';
import { LIVE_SCHEMA } from './readModelSchema.ts';

export interface WithdrawalListItem {
  readonly walletId: string;
  readonly id: string;
  readonly currency: string;
  readonly owner: string | null;
  /** In minor units. */
  readonly amount: bigint;
  readonly target: string | null;
  readonly status: WithdrawalStatus;
  readonly errorMessage: string;
  readonly scheduledTime: Date | null;
  /** The third party cannot tell whether it paid: it waits for an operator's settle. */
  readonly awaitingSettlement: boolean;
  readonly updatedAt: Date;
}

/**
 * Withdrawals of every wallet (optionally of one status): those waiting for an operator first,
 * then the most recently changed.
 */
export async function listWithdrawals(
  db: Pick<pg.Pool, 'query'>,
  filter: { readonly status?: WithdrawalStatus | undefined; readonly limit: number },
): Promise<WithdrawalListItem[]> {
  const { rows } = await db.query({
    name: 'list-withdrawals',
    text: `select t.wallet_id, t.transaction_id, w.currency, w.owner, t.amount::text as amount,
                  t.counterparty, t.status, t.error_message, t.scheduled_time,
                  t.awaiting_settlement, t.updated_at
           from ${LIVE_SCHEMA}.transactions t
           join ${LIVE_SCHEMA}.wallets w on w.wallet_id = t.wallet_id
           where t.kind = 'withdrawal' and ($1::text is null or t.status = $1)
           order by t.awaiting_settlement desc, t.updated_at desc, t.transaction_id
           limit $2`,
    values: [filter.status ?? null, filter.limit],
  });
  return rows.map((r) => ({
    walletId: r.wallet_id,
    id: r.transaction_id,
    currency: r.currency,
    owner: r.owner,
    amount: BigInt(r.amount),
    target: r.counterparty,
    status: r.status,
    errorMessage: r.error_message,
    scheduledTime: r.scheduled_time,
    awaitingSettlement: r.awaiting_settlement,
    updatedAt: r.updated_at,
  }));
}
