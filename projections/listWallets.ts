import type pg from 'pg';
import { LIVE_SCHEMA } from './readModelSchema.ts';

export interface WalletListItem {
  readonly id: string;
  readonly currency: string;
  readonly owner: string | null;
  /** In minor units. */
  readonly balance: bigint;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface WalletListFilter {
  /** Only this owner's wallets (exactly). */
  readonly owner?: string | undefined;
  /** Wallets whose id starts with this, or whose owner contains it (any case). */
  readonly search?: string | undefined;
  readonly limit: number;
}

/** Wallets from the read model, newest first. */
export async function listWallets(
  db: Pick<pg.Pool, 'query'>,
  filter: WalletListFilter,
): Promise<WalletListItem[]> {
  const search = filter.search?.trim().toLowerCase() || null;
  const { rows } = await db.query({
    name: 'list-wallets',
    text: `select wallet_id, currency, owner, balance::text as balance, created_at, updated_at
           from ${LIVE_SCHEMA}.wallets
           where ($1::text is null or owner = $1)
             and ($2::text is null or ($3::text is not null and wallet_id::text like $3)
                  or lower(owner) like $4)
           order by created_at desc, wallet_id
           limit $5`,
    values: [
      filter.owner ?? null,
      search,
      search && /^[0-9a-f-]+$/.test(search) ? `${search}%` : null,
      search && `%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`,
      filter.limit,
    ],
  });
  return rows.map((r) => ({
    id: r.wallet_id,
    currency: r.currency,
    owner: r.owner,
    balance: BigInt(r.balance),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }));
}
