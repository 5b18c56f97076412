// One claimed withdrawal, taken as far as it can go now: the payout policy (src/domain/
// withdrawal.ts) names the next step, this runs it (an append, a third-party call and the
// append of its answer, a status lookup, the target wallet's credit) and asks again. Decisions
// are made on the wallet's stream, never on the read model that listed it; every step makes sure
// of the claim first (scheduler/leases.ts), so a claim taken over by another holder stops.

import type { CommandContext } from '../src/commands/metadata.ts';
import type { CommandResult, WalletCommandHandler } from '../src/commands/walletCommandHandler.ts';
import type { WalletEvent } from '../src/domain/events.ts';
import { formatAmount } from '../src/domain/money.ts';
import type { Wallet } from '../src/domain/wallet.ts';
import {
  nextStep,
  type PayoutPolicy,
  type PayoutStep,
  type Withdrawal,
} from '../src/domain/withdrawal.ts';
import type { Logger } from '../src/infra/logger.ts';
import { metrics } from '../src/infra/metrics.ts';
import type { Claim } from './claims/claimDue.ts';
import type { PayoutClient } from './payoutClient.ts';

export interface StepRunner {
  readonly commands: WalletCommandHandler;
  readonly payouts: Pick<PayoutClient, 'requestPayout' | 'lookupTransfer'>;
  readonly policy: PayoutPolicy;
  readonly clock: () => Date;
  /** [0, 1): jitter of retry backoffs. */
  readonly random: () => number;
  /** Runs the third-party call within the concurrency bound. */
  readonly limitPayout: <T>(task: () => Promise<T>) => Promise<T>;
  /** Makes sure of the claim before a step (renewing it when due); false: it is lost, stop. */
  readonly renew: (claim: Claim) => Promise<boolean>;
  /** This scheduler instance, recorded as the actor of its events. */
  readonly instance: string;
  readonly log: Pick<Logger, 'warn' | 'error'>;
}

/** What became of the claim: finished, or when to look at it again. */
export type ProcessResult = { readonly done: true } | { readonly done: false; readonly at: Date };

const DONE: ProcessResult = { done: true };
/** Steps taken under one claim at most (start, request, lookup, ... are a handful). */
const MAX_STEPS = 10;
/** Another holder took the claim over: leave it to that one, look again later. */
const LOST_CLAIM_RETRY_MS = 5_000;

export async function processWithdrawal(runner: StepRunner, claim: Claim): Promise<ProcessResult> {
  const { commands, clock, policy } = runner;
  const { walletId, withdrawalId } = claim;
  const context: CommandContext = {
    actor: { type: 'scheduler', instance: runner.instance },
    correlationId: withdrawalId,
  };
  let wallet = await commands.load(walletId);
  for (let step = 0; step < MAX_STEPS; step++) {
    const withdrawal = wallet?.withdrawals.get(withdrawalId);
    if (!wallet || !withdrawal) return DONE; // not in the stream: nothing to do
    const next = nextStep(withdrawal, clock(), policy);
    if (next.kind === 'done') return DONE;
    if (next.kind === 'wait') return { done: false, at: next.until };
    if (!(await runner.renew(claim))) return later(clock(), LOST_CLAIM_RETRY_MS);
    const result = await runStep(runner, claim, next, wallet, withdrawal, context);
    if (!result) return later(clock(), LOST_CLAIM_RETRY_MS);
    if (next.kind === 'credit') return DONE;
    // Nothing new on record (a lookup that still cannot tell): look again after a while.
    if (result.appended.length === 0) return later(clock(), policy.recheckMs);
    wallet = result.wallet;
  }
  return later(clock(), 0);
}

const later = (now: Date, ms: number): ProcessResult => ({
  done: false,
  at: new Date(now.getTime() + ms),
});

/** Runs one step; undefined when the claim was lost on the way. */
async function runStep(
  runner: StepRunner,
  claim: Claim,
  step: Exclude<PayoutStep, { kind: 'wait' | 'done' }>,
  wallet: Wallet,
  withdrawal: Withdrawal,
  context: CommandContext,
): Promise<CommandResult | undefined> {
  const { commands, payouts, policy, clock } = runner;
  const withdrawalId = withdrawal.id;
  const jitter = () => 0.75 + runner.random() * 0.5;
  switch (step.kind) {
    case 'start': {
      const now = clock();
      const result = await commands.handle(
        wallet.id,
        { type: 'StartWithdrawal', withdrawalId },
        context,
      );
      if (result.appended.length > 0) {
        metrics.lateness.observe((now.getTime() - Date.parse(withdrawal.scheduledTime)) / 1000);
      }
      count(runner, wallet.id, withdrawalId, result.appended, 'insufficient_funds');
      return result;
    }
    case 'request':
      return runner.limitPayout(async () => {
        // Renewed after waiting for a slot, right before the request: no other holder sends it.
        if (!(await runner.renew(claim))) return undefined;
        // On record before it goes out, and sent only if this very append put it there.
        const requested = await commands.handle(
          wallet.id,
          { type: 'RequestPayout', withdrawalId, attempt: step.attempt },
          context,
        );
        if (requested.appended.length === 0) return requested;
        const answer = await payouts.requestPayout({
          withdrawalId,
          walletId: wallet.id,
          amount: formatAmount(withdrawal.amount, wallet.currency),
          currency: wallet.currency,
          target: withdrawal.target,
        });
        metrics.payoutAttempts.inc({ result: answer.kind });
        const recorded = await commands.handle(
          wallet.id,
          {
            type: 'RecordPayoutAnswer',
            withdrawalId,
            attempt: step.attempt,
            answer,
            policy,
            jitter: jitter(),
          },
          context,
        );
        count(runner, wallet.id, withdrawalId, recorded.appended, answer.kind);
        return { ...recorded, appended: [...requested.appended, ...recorded.appended] };
      });
    case 'lookup': {
      const result = await payouts.lookupTransfer(withdrawalId);
      const recorded = await commands.handle(
        wallet.id,
        { type: 'RecordLookup', withdrawalId, result, policy, jitter: jitter() },
        context,
      );
      if (
        result === 'not_found' &&
        withdrawal.requestedAttempt > 0 &&
        recorded.appended.some((e) => e.type === 'WithdrawalAttemptFailed')
      ) {
        // The third party has no record of a request we have on record: the next attempt sends
        // the money again (keyed by the withdrawal id). Worth an operator's eye if it recurs.
        metrics.resendsAfterNotFound.inc();
        runner.log.warn('payout request unknown to the third party; it will be sent again', {
          walletId: wallet.id,
          withdrawalId,
          attempt: withdrawal.requestedAttempt,
        });
      }
      count(runner, wallet.id, withdrawalId, recorded.appended, 'failed');
      return recorded;
    }
    case 'credit':
      return commands.handle(
        step.target,
        {
          type: 'ReceiveTransfer',
          withdrawalId,
          fromWalletId: wallet.id,
          amount: withdrawal.amount,
          scheduledTime: withdrawal.scheduledTime,
        },
        context,
      );
  }
}

/** Counts what the appended events say happened; a conflict is also an error in the log. */
function count(
  runner: StepRunner,
  walletId: string,
  withdrawalId: string,
  appended: readonly WalletEvent[],
  failure: string,
): void {
  for (const event of appended) {
    if (event.type === 'WithdrawalSucceeded')
      metrics.withdrawalOutcomes.inc({ outcome: 'success' });
    if (event.type === 'WithdrawalFailed') metrics.withdrawalOutcomes.inc({ outcome: failure });
    if (event.type === 'WithdrawalAwaitingSettlement') {
      metrics.withdrawalOutcomes.inc({ outcome: 'awaiting_settlement' });
    }
    if (event.type === 'WithdrawalOutcomeConflict') {
      metrics.outcomeConflicts.inc({ reported: event.data.reported });
      runner.log.error('third-party verdict contradicts the recorded outcome', {
        walletId,
        withdrawalId,
        recorded: event.data.recorded,
        reported: event.data.reported,
        amount: event.data.amount,
      });
    }
  }
}
