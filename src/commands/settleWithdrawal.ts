// An operator ends a withdrawal whose payout outcome the scheduler cannot learn, from the bank's
// own records (the CLI's `settle` and the API's operator route). Refused while a scheduler holds a
// live claim on it (it may be mid-payout) unless forced; the payout policy refuses the rest.
import type pg from 'pg';
import { isClaimed } from '../../scheduler/claims/isClaimed.ts';
import { WithdrawalNotSettleable } from '../domain/errors.ts';
import type { CommandContext } from './metadata.ts';
import type { CommandResult, WalletCommandHandler } from './walletCommandHandler.ts';

export interface Settlement {
  readonly walletId: string;
  readonly withdrawalId: string;
  readonly verdict: 'paid' | 'not_paid';
  readonly force: boolean;
  /** Who settles it, recorded in the event. */
  readonly operator: string;
}

export async function settleWithdrawal(
  commands: WalletCommandHandler,
  pool: pg.Pool,
  { walletId, withdrawalId, verdict, force, operator }: Settlement,
  context: CommandContext,
): Promise<CommandResult> {
  if (!force && (await isClaimed(pool, withdrawalId))) {
    throw new WithdrawalNotSettleable(withdrawalId, 'PROCESSING', 'claimed');
  }
  return commands.handle(
    walletId,
    { type: 'SettleWithdrawal', withdrawalId, verdict, operator, force },
    { correlationId: withdrawalId, ...context },
  );
}
