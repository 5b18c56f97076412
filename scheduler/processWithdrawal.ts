// One claimed withdrawal, taken as far as it can go now, always against its wallet's stream (the
// read model row only said "look at this"): start it or fail it for funds, ask the third party,
// record the outcome, credit the target wallet. Every step is an event appended with an expected
// revision, so a crash at any point resumes from what the stream says, and a step done twice by
// two instances is refused the second time by the decider.
//
// Money rules: each request is on record (`WithdrawalPayoutRequested`) before it goes out; one
// whose outcome is unknown (a crash, a lost answer) is never sent again and never refunded until
// the third party's status lookup says what happened; a refund follows only a definite "not paid".
import type { WalletCommandHandler } from '../src/commands/walletCommandHandler.ts';
import type { AttemptOutcome } from '../src/domain/events.ts';
import { formatAmount } from '../src/domain/money.ts';
import type { Wallet, Withdrawal } from '../src/domain/wallet.ts';
import { metrics } from '../src/infra/metrics.ts';
import type { LookupResult, PayoutClient, PayoutOutcome } from './payoutClient.ts';

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

/** Renews this instance's claim before a step that must not run twice; false: the claim is lost. */
export type RenewLease = () => Promise<boolean>;

/** What became of the claim: finished, or when to look again. */
export type ProcessResult =
  | { readonly done: true }
  | { readonly done: false; readonly retryAt: Date };

const DONE: ProcessResult = { done: true };
/** An outcome the lookup cannot settle (no lookup service, or it fails) is asked about this often. */
const UNKNOWN_RECHECK_MS = 60_000;
/** Another instance took the claim over: leave it to that one, look again later. */
const LOST_CLAIM_RETRY_MS = 5_000;

export async function processWithdrawal(
  options: ProcessOptions,
  walletId: string,
  withdrawalId: string,
  renewLease: RenewLease = async () => true,
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
      if (withdrawal.status === 'FAILED') {
        metrics.withdrawalOutcomes.inc({ outcome: 'insufficient_funds' });
      }
    }
  }

  if (withdrawal.status === 'PROCESSING') {
    const due = withdrawal.nextAttemptAt ? Date.parse(withdrawal.nextAttemptAt) : 0;
    if (due > clock().getTime()) return { done: false, retryAt: new Date(due) };
    const next = await payOut(options, wallet, withdrawal, renewLease);
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

/** The next third-party step of a started withdrawal, and its consequence in the stream. */
async function payOut(
  options: ProcessOptions,
  wallet: Wallet,
  withdrawal: Withdrawal,
  renewLease: RenewLease,
): Promise<ProcessResult> {
  const { payouts, maxAttempts, clock } = options;
  const lostClaim = (): ProcessResult => ({
    done: false,
    retryAt: new Date(clock().getTime() + LOST_CLAIM_RETRY_MS),
  });

  // The last request's fate is unknown: only the lookup may settle it; resending could pay twice.
  if (withdrawal.outcomeUnknown) {
    if (!(await renewLease())) return lostClaim();
    const lookup = await payouts.lookupTransfer(withdrawal.id);
    if (lookup === 'unsupported') {
      return { done: false, retryAt: new Date(clock().getTime() + UNKNOWN_RECHECK_MS) };
    }
    if (lookup !== 'not_found')
      return settle(options, wallet.id, withdrawal.id, fromLookup(lookup), renewLease);
    // Never paid: a new attempt may go out, if any is left.
  }
  if (withdrawal.attempts >= maxAttempts) {
    // No attempt left, each one not paid for sure (looked up, or recorded as failed by a claim
    // that ran out before its refund): the money goes back.
    const reason = withdrawal.outcomeUnknown
      ? `${withdrawal.errorMessage} Never paid (status lookup).`
      : withdrawal.errorMessage;
    const failed = { kind: 'failed', reason } as const;
    return settle(options, wallet.id, withdrawal.id, failed, renewLease, withdrawal.attempts);
  }

  const attempt = withdrawal.attempts + 1;
  let outcome = await options.limitPayout(async (): Promise<PayoutOutcome | undefined> => {
    // Renewed after waiting for a slot, right before the request: no other instance sends it now.
    if (!(await renewLease())) return undefined;
    // On record before it goes out: after a crash from here on, only the lookup may settle it,
    // so a third party without idempotency keys is never asked twice. Sent only if the stream
    // (freshly decided) shows this very attempt on record and the withdrawal still processing.
    const { wallet: now } = await options.commands.handle(wallet.id, {
      type: 'RequestPayout',
      withdrawalId: withdrawal.id,
      attempt,
    });
    const current = now.withdrawals.get(withdrawal.id);
    if (current?.status !== 'PROCESSING' || current.requestedAttempt !== attempt) return undefined;
    return payouts.requestPayout({
      withdrawalId: withdrawal.id,
      walletId: wallet.id,
      amount: formatAmount(withdrawal.amount, wallet.currency),
      currency: wallet.currency,
      target: withdrawal.target,
    });
  });
  if (!outcome) return lostClaim();
  metrics.payoutAttempts.inc({ result: outcome.kind });

  if (outcome.kind === 'unknown') {
    const lookup = await payouts.lookupTransfer(withdrawal.id);
    if (lookup === 'not_found') {
      outcome = { kind: 'failed', reason: `${outcome.reason} Not paid (status lookup).` };
    } else if (lookup !== 'unsupported') {
      outcome = fromLookup(lookup);
    }
  }
  return settle(options, wallet.id, withdrawal.id, outcome, renewLease, attempt);
}

function fromLookup(lookup: Exclude<LookupResult, 'not_found' | 'unsupported'>): PayoutOutcome {
  return lookup === 'paid'
    ? { kind: 'paid' }
    : { kind: 'refused', reason: 'Payout refused (found by status lookup).' };
}

/** Records an outcome: success, refusal, or a failed / unknown attempt (retried or final). */
async function settle(
  options: ProcessOptions,
  walletId: string,
  withdrawalId: string,
  outcome: PayoutOutcome,
  renewLease: RenewLease,
  attempt = 0,
): Promise<ProcessResult> {
  const { commands, payouts, maxAttempts, retryBaseMs } = options;
  switch (outcome.kind) {
    case 'paid':
      await commands.handle(walletId, { type: 'CompleteWithdrawal', withdrawalId });
      metrics.withdrawalOutcomes.inc({ outcome: 'success' });
      return DONE;
    case 'refused':
      return refund(options, walletId, withdrawalId, outcome.reason, 'refused', renewLease);
    case 'failed': {
      if (attempt < maxAttempts) {
        return recordAttempt(
          options,
          walletId,
          withdrawalId,
          attempt,
          outcome.reason,
          'failed',
          retryBaseMs * 2 ** (attempt - 1),
        );
      }
      // The last definite failure: make sure the third party did not pay after all (a 500 after
      // paying, say) where it can tell; then the money goes back.
      if ((await payouts.lookupTransfer(withdrawalId)) === 'paid') {
        return settle(options, walletId, withdrawalId, { kind: 'paid' }, renewLease);
      }
      // The claim ran out meanwhile: put the definite failure on record for the next holder,
      // which refunds it (without it, the attempt would look unknown for ever).
      if (!(await renewLease())) {
        return recordAttempt(options, walletId, withdrawalId, attempt, outcome.reason, 'failed', 0);
      }
      const reason = `${outcome.reason} Gave up after ${attempt} attempts.`;
      return refund(options, walletId, withdrawalId, reason, 'failed', renewLease);
    }
    case 'unknown': {
      // Kept, not refunded: from now on only the lookup may end it (see payOut).
      metrics.withdrawalOutcomes.inc({ outcome: 'unknown' });
      const delay = attempt < maxAttempts ? retryBaseMs * 2 ** (attempt - 1) : UNKNOWN_RECHECK_MS;
      return recordAttempt(
        options,
        walletId,
        withdrawalId,
        attempt,
        outcome.reason,
        'unknown',
        delay,
      );
    }
  }
}

async function refund(
  { commands, clock }: ProcessOptions,
  walletId: string,
  withdrawalId: string,
  reason: string,
  outcome: 'refused' | 'failed',
  renewLease: RenewLease,
): Promise<ProcessResult> {
  // Only the claim's holder refunds: another instance might be mid-request for this withdrawal.
  if (!(await renewLease()))
    return { done: false, retryAt: new Date(clock().getTime() + LOST_CLAIM_RETRY_MS) };
  await commands.handle(walletId, { type: 'FailWithdrawal', withdrawalId, reason });
  metrics.withdrawalOutcomes.inc({ outcome });
  return DONE;
}

async function recordAttempt(
  { commands, clock }: ProcessOptions,
  walletId: string,
  withdrawalId: string,
  attempt: number,
  reason: string,
  outcome: AttemptOutcome,
  delayMs: number,
): Promise<ProcessResult> {
  // Jitter spreads the retries of withdrawals that failed together.
  const nextAttemptAt = new Date(clock().getTime() + delayMs * (0.75 + Math.random() * 0.5));
  await commands.handle(walletId, {
    type: 'RecordAttemptFailure',
    withdrawalId,
    attempt,
    reason,
    outcome,
    nextAttemptAt,
  });
  return { done: false, retryAt: nextAttemptAt };
}
