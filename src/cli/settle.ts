// `settle <wallet> <withdrawal> paid|not-paid [--force] [--by <operator>]`: an operator ends a
// withdrawal whose payout outcome the scheduler cannot learn, from the bank's own records. Refused
// while a scheduler holds a live claim on it or a request is outstanding whose outcome the third
// party can still tell, unless forced; the event records who settled it and whether it was forced.
import os from 'node:os';
import { settleWithdrawal as settle } from '../commands/settleWithdrawal.ts';
import { createWalletCommandHandler } from '../commands/walletCommandHandler.ts';
import { DomainError } from '../domain/errors.ts';
import { formatAmount } from '../domain/money.ts';
import type { Runtime } from './runtime.ts';

export interface SettleOptions {
  readonly walletId: string;
  readonly withdrawalId: string;
  readonly verdict: 'paid' | 'not_paid';
  readonly force: boolean;
  /** The operator's name; default: the user running the command. */
  readonly by?: string | undefined;
}

/** Settles and prints the outcome; returns the exit code (1: refused). */
export async function settleWithdrawal(runtime: Runtime, options: SettleOptions): Promise<number> {
  const { walletId, withdrawalId, verdict, force } = options;
  const operator = options.by ?? os.userInfo().username;
  const commands = createWalletCommandHandler(runtime.store);
  try {
    const { wallet } = await settle(
      commands,
      runtime.db.pool,
      { walletId, withdrawalId, verdict, force, operator },
      { actor: { type: 'operator', name: operator } },
    );
    const status = wallet.withdrawals.get(withdrawalId)?.status;
    console.log(
      `withdrawal ${withdrawalId}: ${status}; balance ${formatAmount(wallet.balance, wallet.currency)} ${wallet.currency}` +
        (force ? ` (forced by ${operator})` : ` (settled by ${operator})`),
    );
    return 0;
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    console.error(error.message);
    return 1;
  }
}
