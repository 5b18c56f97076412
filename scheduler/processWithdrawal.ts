// One claimed withdrawal, taken as far as it can go now, always against its wallet's stream (the
// read model row only said "look at this"): start it or fail it for funds, ask the third party,
// record the outcome, credit the target wallet. Every step is an event appended with an expected
// revision, so a crash at any point resumes from what the stream says, and a step done twice by
// two instances is refused the second time by the decider.
import type { WalletCommandHandler } from '../src/commands/walletCommandHandler.ts';
import { formatAmount } from '../src/domain/money.ts';
import type { Wallet, Withdrawal } from '../src/domain/wallet.ts';
import { metrics } from '../src/infra/metrics.ts';
import type { PayoutClient, PayoutOutcome } from './payoutClient.ts';

export interface ProcessOptions {
  readonly commands: WalletCommandHandler;
  readonly payouts: PayoutClient;
  readonly clock: () => Date;
  readonly maxAttempts: number;
  /** Backoff before attempt n+1 is retryBaseMs * 2^(n-1), with jitter. */
  readonly retryBaseMs: number;
  /** Runs the third-party call within the concurrency bound. */
  readonly limitPayout: <T>(task: () => Promise<T>) => Promise<T>;
}

/** What became of the claim: finished, or when to look again. */
export type ProcessResult =
  | { readonly done: true }
  | { readonly done: false; readonly retryAt: Date };

const DONE: ProcessResult = { done: true };
/** An outcome still unknown after every attempt is looked up again this often, never refunded. */
const UNKNOWN_RECHECK_MS = 60_000;

export async function processWithdrawal(
  options: ProcessOptions,
  walletId: string,
  withdrawalId: string,
): Promise<ProcessResult> {
  const { commands, clock } = options;
  let wallet = await commands.load(walletId);
  let withdrawal = wallet?.withdrawals.get(withdrawalId);
  if (!wallet || !withdrawal) return DONE; // not in the stream: nothing to do

  if (withdrawal.status === 'PENDING') {
    const now = clock();
    if (Date.parse(withdrawal.scheduledTime) > now.getTime()) {
      return { done: false, retryAt: new Date(withdrawal.scheduledTime) };
    }
    const result = await commands.handle(walletId, { type: 'StartWithdrawal', withdrawalId });
    wallet = result.wallet;
    withdrawal = wallet.withdrawals.get(withdrawalId) as Withdrawal;
    if (result.appended.length > 0) {
      metrics.lateness.observe((now.getTime() - Date.parse(withdrawal.scheduledTime)) / 1000);
      if (withdrawal.status === 'FAILED')
        metrics.withdrawalOutcomes.inc({ outcome: 'insufficient_funds' });
    }
  }

  if (withdrawal.status === 'PROCESSING') {
    const due = withdrawal.nextAttemptAt ? Date.parse(withdrawal.nextAttemptAt) : 0;
    if (due > clock().getTime()) return { done: false, retryAt: new Date(due) };
    const next = await payOut(options, wallet, withdrawal);
    if (!next.done) return next;
    wallet = await commands.load(walletId);
    withdrawal = wallet?.withdrawals.get(withdrawalId);
    if (!wallet || !withdrawal) return DONE;
  }

  if (withdrawal.status === 'SUCCESS' && withdrawal.target) {
    await commands.handle(withdrawal.target, {
      type: 'ReceiveTransfer',
      withdrawalId,
      fromWalletId: walletId,
      amount: withdrawal.amount,
      scheduledTime: withdrawal.scheduledTime,
    });
  }
  return DONE;
}

/** One third-party attempt and its consequence in the stream. */
async function payOut(
  options: ProcessOptions,
  wallet: Wallet,
  withdrawal: Withdrawal,
): Promise<ProcessResult> {
  const { commands, payouts, maxAttempts, retryBaseMs } = options;
  const walletId = wallet.id;
  const withdrawalId = withdrawal.id;
  if (withdrawal.attempts >= maxAttempts) return settleByLookup(options, walletId, withdrawalId);
  const attempt = withdrawal.attempts + 1;
  let outcome: PayoutOutcome = await options.limitPayout(() =>
    payouts.requestPayout({
      withdrawalId,
      walletId,
      amount: formatAmount(withdrawal.amount, wallet.currency),
      currency: wallet.currency,
      target: withdrawal.target,
    }),
  );
  metrics.payoutAttempts.inc({ result: outcome.kind });

  // An answer that was lost is settled by asking, never by guessing: a blind refund could pay out
  // money the third party already sent.
  if (outcome.kind === 'unknown') outcome = await resolveUnknown(options, withdrawalId, outcome);
  // Before the last failure refunds, make sure the third party did not pay after all (a 500 after
  // paying, say): the lookup decides where the third party offers one.
  if (outcome.kind === 'failed' && attempt >= maxAttempts) {
    const lookup = await payouts.lookupTransfer(withdrawalId);
    if (lookup === 'paid') outcome = { kind: 'paid' };
  }

  switch (outcome.kind) {
    case 'paid':
      await commands.handle(walletId, { type: 'CompleteWithdrawal', withdrawalId });
      metrics.withdrawalOutcomes.inc({ outcome: 'success' });
      return DONE;
    case 'refused':
      await commands.handle(walletId, {
        type: 'FailWithdrawal',
        withdrawalId,
        reason: outcome.reason,
      });
      metrics.withdrawalOutcomes.inc({ outcome: 'refused' });
      return DONE;
    case 'failed':
      if (attempt >= maxAttempts) {
        const reason = `${outcome.reason} Gave up after ${attempt} attempts.`;
        await commands.handle(walletId, { type: 'FailWithdrawal', withdrawalId, reason });
        metrics.withdrawalOutcomes.inc({ outcome: 'failed' });
        return DONE;
      }
      return recordAttemptFailure(
        options,
        walletId,
        withdrawalId,
        attempt,
        outcome.reason,
        retryBaseMs * 2 ** (attempt - 1),
      );
    case 'unknown': {
      // Out of attempts and still not knowing: the money stays taken and only lookups follow.
      const delay = attempt >= maxAttempts ? UNKNOWN_RECHECK_MS : retryBaseMs * 2 ** (attempt - 1);
      return recordAttemptFailure(options, walletId, withdrawalId, attempt, outcome.reason, delay);
    }
  }
}

/**
 * Every attempt is used and the last outcome is unknown: only the status lookup may end it. Not
 * found means never paid (refund); no lookup service means ask again later, never guess.
 */
async function settleByLookup(
  { commands, payouts, clock }: ProcessOptions,
  walletId: string,
  withdrawalId: string,
): Promise<ProcessResult> {
  const lookup = await payouts.lookupTransfer(withdrawalId);
  if (lookup === 'paid') {
    await commands.handle(walletId, { type: 'CompleteWithdrawal', withdrawalId });
    metrics.withdrawalOutcomes.inc({ outcome: 'success' });
    return DONE;
  }
  if (lookup === 'refused' || lookup === 'not_found') {
    const reason =
      lookup === 'refused'
        ? 'Payout refused (found by status lookup).'
        : 'Transaction service never paid it (status lookup); refunded.';
    await commands.handle(walletId, { type: 'FailWithdrawal', withdrawalId, reason });
    metrics.withdrawalOutcomes.inc({ outcome: 'failed' });
    return DONE;
  }
  metrics.withdrawalOutcomes.inc({ outcome: 'unknown' });
  return { done: false, retryAt: new Date(clock().getTime() + UNKNOWN_RECHECK_MS) };
}

async function resolveUnknown(
  { payouts }: ProcessOptions,
  withdrawalId: string,
  outcome: PayoutOutcome,
): Promise<PayoutOutcome> {
  const lookup = await payouts.lookupTransfer(withdrawalId);
  if (lookup === 'paid') return { kind: 'paid' };
  if (lookup === 'refused')
    return { kind: 'refused', reason: 'Payout refused (found by status lookup).' };
  // The lookup waits for attempts in progress with this key, so "not found" means not paid.
  if (lookup === 'not_found')
    return {
      kind: 'failed',
      reason: `${(outcome as { reason: string }).reason} Not paid (status lookup).`,
    };
  return outcome;
}

async function recordAttemptFailure(
  { commands, clock }: ProcessOptions,
  walletId: string,
  withdrawalId: string,
  attempt: number,
  reason: string,
  delayMs: number,
): Promise<ProcessResult> {
  // Jitter spreads the retries of withdrawals that failed together.
  const nextAttemptAt = new Date(clock().getTime() + delayMs * (0.75 + Math.random() * 0.5));
  await commands.handle(walletId, {
    type: 'RecordAttemptFailure',
    withdrawalId,
    attempt,
    reason,
    nextAttemptAt,
  });
  return { done: false, retryAt: nextAttemptAt };
}
