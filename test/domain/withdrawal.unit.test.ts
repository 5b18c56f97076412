// The payout policy, branch by branch: what the scheduler does next (`nextStep`), and what each
// fact (a due moment, a request, an answer, a lookup, an operator's settlement) puts on record.
// The last part plays whole third-party failure modes through the policy, step by step.
import t from 'tap';
import { WithdrawalNotFound, WithdrawalNotSettleable } from '../../src/domain/errors.ts';
import type { WalletEvent } from '../../src/domain/events.ts';
import { decide, fold, type WalletCommand } from '../../src/domain/wallet.ts';
import {
  type LookupResult,
  nextStep,
  type PayoutAnswer,
  type PayoutPolicy,
  type Withdrawal,
} from '../../src/domain/withdrawal.ts';
import {
  at,
  attemptFailed,
  awaiting,
  cancelled,
  created,
  deposited,
  failed,
  given,
  NOW,
  plus,
  requested,
  scheduled,
  started,
  succeeded,
  TARGET,
  THREE_FAILED_ATTEMPTS,
  THREE_TIMEOUTS_NOT_PAID,
  WD,
  withdrawalEvents,
} from './given.ts';

const policy: PayoutPolicy = { maxAttempts: 3, retryBaseMs: 1000, recheckMs: 60_000 };
const processing = [created, deposited('100.00'), scheduled(), started()];

/** Attempts 1 to `count`, each requested and failed; the last one with this outcome and reason. */
function failedAttempts(
  count: number,
  outcome?: 'failed' | 'unknown',
  reason?: string,
): WalletEvent[] {
  return Array.from({ length: count }, (_, i) => [
    requested(i + 1),
    i + 1 === count ? attemptFailed(i + 1, outcome, reason) : attemptFailed(i + 1),
  ]).flat();
}

const answer = (attempt: number, a: PayoutAnswer, jitter = 1): WalletCommand => ({
  type: 'RecordPayoutAnswer',
  withdrawalId: WD,
  attempt,
  answer: a,
  policy,
  jitter,
});
const lookup = (result: LookupResult): WalletCommand => ({
  type: 'RecordLookup',
  withdrawalId: WD,
  result,
  policy,
  jitter: 1,
});
const settle = (verdict: 'paid' | 'not_paid', force = false): WalletCommand => ({
  type: 'SettleWithdrawal',
  withdrawalId: WD,
  verdict,
  operator: 'ops-anna',
  force,
});
const attemptFailedNow = (
  attempt: number,
  outcome: 'failed' | 'unknown',
  reason: string,
  delayMs: number,
): WalletEvent => ({
  type: 'WithdrawalAttemptFailed',
  data: { withdrawalId: WD, attempt, reason, outcome, nextAttemptAt: plus(delayMs), at },
});
const failedNow = (reason: string, refunded = '50.00', extra = {}): WalletEvent => ({
  type: 'WithdrawalFailed',
  data: { withdrawalId: WD, reason, refunded, at, ...extra },
});
const succeededNow = (attempt: number, extra = {}): WalletEvent => ({
  type: 'WithdrawalSucceeded',
  data: { withdrawalId: WD, attempt, at, ...extra },
});
const withdrawalAfter = (...events: WalletEvent[]) =>
  fold(events)?.withdrawals.get(WD) as Withdrawal;

t.test('nextStep: what the scheduler does next', async (t) => {
  const step = (events: WalletEvent[], now = NOW) =>
    nextStep(withdrawalAfter(...events), now, policy);
  t.same(step([created, scheduled()], new Date('2026-01-01T10:59:00.000Z')), {
    kind: 'wait',
    until: new Date('2026-01-01T11:00:00.000Z'),
  });
  t.same(step([created, scheduled()]), { kind: 'start' }, 'pending and due: start');
  t.same(step(processing), { kind: 'request', attempt: 1 }, 'started: the first request');
  t.same(step([...processing, requested(1)]), { kind: 'lookup' }, 'requested, no answer: lookup');
  t.same(
    step([...processing, requested(1), attemptFailed(1)], new Date('2026-01-01T11:00:04.000Z')),
    { kind: 'wait', until: new Date('2026-01-01T11:00:05.000Z') },
    'a failed attempt: wait for the backoff',
  );
  t.same(step([...processing, requested(1), attemptFailed(1)]), { kind: 'request', attempt: 2 });
  t.same(
    step([...processing, requested(1), attemptFailed(1, 'unknown')]),
    { kind: 'lookup' },
    'an unknown outcome: never a resend, a lookup',
  );
  t.same(
    step([...processing, ...failedAttempts(3)]),
    { kind: 'lookup' },
    'out of attempts: a last lookup before the refund',
  );
  t.same(step([...processing, requested(1), succeeded]), { kind: 'done' });
  t.same(
    step([created, deposited('100.00'), scheduled('50.00', WD, TARGET), started(), succeeded]),
    { kind: 'credit', target: TARGET },
    'succeeded with a target wallet: credit it',
  );
  t.same(step([...processing, failed]), { kind: 'done' });
  t.same(step([created, scheduled(), cancelled]), { kind: 'done' });
});

t.test('StartWithdrawal', async (t) => {
  const start: WalletCommand = { type: 'StartWithdrawal', withdrawalId: WD };
  t.test('due and covered: WithdrawalStarted, the money leaves the wallet', async (t) => {
    given(created, deposited('100.00'), scheduled())
      .when(start)
      .thenEmits(t, [
        { type: 'WithdrawalStarted', data: { withdrawalId: WD, amount: '50.00', at } },
      ]);
    t.equal(fold(processing)?.balance, 5000n);
  });
  t.test('exactly covered: starts', async (t) =>
    given(created, deposited('50.00'), scheduled())
      .when(start)
      .thenEmits(t, [
        { type: 'WithdrawalStarted', data: { withdrawalId: WD, amount: '50.00', at } },
      ]),
  );
  t.test('not covered: WithdrawalFailed with the original message, nothing to refund', async (t) =>
    given(created, deposited('49.99'), scheduled())
      .when(start)
      .thenEmits(t, [
        failedNow('Insufficient funds. Available balance: 49.99. Required amount: 50.00.', '0.00'),
      ]),
  );
  t.test('the balance counts money already taken by other started withdrawals', async (t) =>
    given(
      created,
      deposited('100.00'),
      scheduled('60.00', 'w0'),
      started('60.00', 'w0'),
      scheduled(),
    )
      .when(start)
      .thenEmits(t, [
        failedNow('Insufficient funds. Available balance: 40.00. Required amount: 50.00.', '0.00'),
      ]),
  );
  t.test('not yet due: nothing', async (t) =>
    given(created, deposited('100.00'), scheduled())
      .when(start, new Date('2026-01-01T10:59:59.999Z'))
      .thenEmits(t, []),
  );
  t.test('already started, ended or cancelled: nothing', async (t) => {
    given(...processing)
      .when(start)
      .thenEmits(t, []);
    given(...processing, succeeded)
      .when(start)
      .thenEmits(t, []);
    given(created, scheduled(), cancelled).when(start).thenEmits(t, []);
  });
  t.test('unknown withdrawal: not found', async (t) =>
    given(created).when(start).thenRefuses(t, WithdrawalNotFound),
  );
});

t.test('RequestPayout: each request on record before it goes out', async (t) => {
  const request = (attempt: number): WalletCommand => ({
    type: 'RequestPayout',
    withdrawalId: WD,
    attempt,
  });
  t.test('the next attempt of a started withdrawal', async (t) =>
    given(...processing)
      .when(request(1))
      .thenEmits(t, [
        { type: 'WithdrawalPayoutRequested', data: { withdrawalId: WD, attempt: 1, at } },
      ]),
  );
  t.test('requested with no outcome yet: unknown (a crash here), no money moves', async (t) => {
    const w = withdrawalAfter(...processing, requested(1));
    t.equal(w.outcomeUnknown, true);
    t.equal(w.status, 'PROCESSING');
    t.equal(fold([...processing, requested(1)])?.balance, 5000n);
  });
  t.test('after a definite failure, the next attempt', async (t) =>
    given(...processing, requested(1), attemptFailed(1))
      .when(request(2))
      .thenEmits(t, [
        { type: 'WithdrawalPayoutRequested', data: { withdrawalId: WD, attempt: 2, at } },
      ]),
  );
  t.test('never while the last outcome is unknown, never twice, never out of turn', async (t) => {
    given(...processing, requested(1))
      .when(request(1))
      .thenEmits(t, []);
    given(...processing, requested(1))
      .when(request(2))
      .thenEmits(t, []);
    given(...processing, requested(1), attemptFailed(1, 'unknown'))
      .when(request(2))
      .thenEmits(t, []);
    given(...processing)
      .when(request(2))
      .thenEmits(t, []);
  });
  t.test('not started, or ended: nothing', async (t) => {
    given(created, deposited('100.00'), scheduled()).when(request(1)).thenEmits(t, []);
    given(...processing, succeeded)
      .when(request(1))
      .thenEmits(t, []);
  });
});

t.test('RecordPayoutAnswer', async (t) => {
  const asked = [...processing, requested(1)];
  t.test('paid: WithdrawalSucceeded', async (t) =>
    given(...asked)
      .when(answer(1, { kind: 'paid' }))
      .thenEmits(t, [succeededNow(1)]),
  );
  t.test('refused: failed at once, the money goes back', async (t) => {
    given(...asked)
      .when(answer(1, { kind: 'refused', reason: 'Payout refused: HTTP 422.' }))
      .thenEmits(t, [failedNow('Payout refused: HTTP 422.')]);
    t.equal(fold([...asked, failedNow('x')])?.balance, 10000n);
  });
  t.test('failed with attempts left: retried after backoff x 2^(n-1), jittered', async (t) => {
    given(...asked)
      .when(answer(1, { kind: 'failed', reason: 'HTTP 503' }))
      .thenEmits(t, [attemptFailedNow(1, 'failed', 'HTTP 503', 1000)]);
    given(...asked, attemptFailed(1), requested(2))
      .when(answer(2, { kind: 'failed', reason: 'HTTP 503' }, 1.2))
      .thenEmits(t, [attemptFailedNow(2, 'failed', 'HTTP 503', 2400)]);
  });
  t.test('failed on the last attempt: on record, due now (a last lookup, then refund)', async (t) =>
    given(...asked, attemptFailed(1), requested(2), attemptFailed(2), requested(3))
      .when(answer(3, { kind: 'failed', reason: 'HTTP 503' }))
      .thenEmits(t, [attemptFailedNow(3, 'failed', 'HTTP 503', 0)]),
  );
  t.test('unknown: kept, not refunded, looked up at once', async (t) => {
    given(...asked)
      .when(answer(1, { kind: 'unknown', reason: 'no answer within 5000 ms' }))
      .thenEmits(t, [attemptFailedNow(1, 'unknown', 'no answer within 5000 ms', 0)]);
    const events = [...asked, attemptFailedNow(1, 'unknown', 'x', 0)];
    t.equal(fold(events)?.balance, 5000n, 'the money stays out');
    t.same(nextStep(withdrawalAfter(...events), NOW, policy), { kind: 'lookup' });
  });
  t.test('an answer to a request not on record, or reported twice: nothing', async (t) => {
    given(...processing)
      .when(answer(1, { kind: 'paid' }))
      .thenEmits(t, []);
    given(...asked, attemptFailed(1))
      .when(answer(1, { kind: 'failed', reason: 'again' }))
      .thenEmits(t, []);
    given(...asked)
      .when(answer(2, { kind: 'paid' }))
      .thenEmits(t, []);
  });
});

t.test('RecordLookup', async (t) => {
  const unknown = [...processing, requested(1), attemptFailed(1, 'unknown', 'timeout')];
  const crashed = [...processing, requested(1)];
  const exhausted = [...processing, ...failedAttempts(3, 'failed', 'HTTP 500')];
  t.test('paid: succeeded, whatever the request said', async (t) => {
    given(...unknown)
      .when(lookup('paid'))
      .thenEmits(t, [succeededNow(1)]);
    given(...crashed)
      .when(lookup('paid'))
      .thenEmits(t, [succeededNow(1)]);
    given(...exhausted)
      .when(lookup('paid'))
      .thenEmits(t, [succeededNow(3)]);
  });
  t.test('refused: failed and refunded', async (t) =>
    given(...unknown)
      .when(lookup('refused'))
      .thenEmits(t, [failedNow('Payout refused (found by status lookup).')]),
  );
  t.test('never received, attempts left: a definite failure, retried after backoff', async (t) => {
    given(...unknown)
      .when(lookup('not_found'))
      .thenEmits(t, [attemptFailedNow(1, 'failed', 'timeout Not paid (status lookup).', 1000)]);
    given(...crashed)
      .when(lookup('not_found'))
      .thenEmits(t, [attemptFailedNow(1, 'failed', 'Not paid (status lookup).', 1000)]);
  });
  t.test('never received on the last attempt: failed and refunded', async (t) =>
    given(...processing, ...failedAttempts(3, 'unknown', 'timeout'))
      .when(lookup('not_found'))
      .thenEmits(t, [failedNow('timeout Not paid (status lookup). Gave up after 3 attempts.')]),
  );
  t.test('out of definite attempts: not paid (or cannot tell): refunded', async (t) => {
    given(...exhausted)
      .when(lookup('not_found'))
      .thenEmits(t, [failedNow('HTTP 500 Gave up after 3 attempts.')]);
    given(...exhausted)
      .when(lookup('unsupported'))
      .thenEmits(t, [failedNow('HTTP 500 Gave up after 3 attempts.')]);
  });
  t.test('cannot tell an unknown outcome: awaiting an operator, once', async (t) => {
    given(...unknown)
      .when(lookup('unsupported'))
      .thenEmits(t, [
        {
          type: 'WithdrawalAwaitingSettlement',
          data: {
            withdrawalId: WD,
            attempt: 1,
            reason:
              'timeout The third party cannot tell whether it was paid: waiting for an operator to settle it.',
            nextCheckAt: plus(60_000),
            at,
          },
        },
      ]);
    given(...unknown, awaiting(1))
      .when(lookup('unsupported'))
      .thenEmits(t, []);
    const w = withdrawalAfter(...unknown, awaiting(1));
    t.equal(w.awaitingSettlement, true);
    t.same(nextStep(w, new Date('2026-01-01T11:00:30.000Z'), policy), {
      kind: 'wait',
      until: new Date('2026-01-01T11:01:01.000Z'),
    });
    t.same(nextStep(w, NOW, policy), { kind: 'lookup' }, 'asked again after the recheck time');
    given(...unknown, awaiting(1))
      .when(lookup('paid'))
      .thenEmits(t, [succeededNow(1)]);
  });
  t.test('nothing to look up (a definite failure with attempts left): nothing', async (t) =>
    given(...processing, requested(1), attemptFailed(1))
      .when(lookup('not_found'))
      .thenEmits(t, []),
  );
});

t.test('SettleWithdrawal: an operator ends it from the bank records', async (t) => {
  const unknown = [...processing, requested(1), attemptFailed(1, 'unknown', 'timeout')];
  t.test('refused while a request is outstanding and the lookup may still tell', async (t) => {
    given(...processing, requested(1))
      .when(settle('not_paid'))
      .thenRefuses(t, WithdrawalNotSettleable, { problem: 'outcome_pending' });
    given(...unknown)
      .when(settle('paid'))
      .thenRefuses(t, WithdrawalNotSettleable, { problem: 'outcome_pending' });
  });
  t.test('with --force: settled, and the event says so and who', async (t) =>
    given(...processing, requested(1))
      .when(settle('not_paid', true))
      .thenEmits(t, [
        failedNow('Not paid (settled by an operator).', '50.00', {
          settledBy: { operator: 'ops-anna', forced: true },
        }),
      ]),
  );
  t.test('awaiting settlement: either verdict', async (t) => {
    given(...unknown, awaiting(1))
      .when(settle('paid'))
      .thenEmits(t, [succeededNow(1, { settledBy: { operator: 'ops-anna', forced: false } })]);
    given(...unknown, awaiting(1))
      .when(settle('not_paid'))
      .thenEmits(t, [
        failedNow('Not paid (settled by an operator).', '50.00', {
          settledBy: { operator: 'ops-anna', forced: false },
        }),
      ]);
  });
  t.test('no request outstanding (between attempts): allowed', async (t) =>
    given(...processing, requested(1), attemptFailed(1))
      .when(settle('not_paid'))
      .thenEmits(t, [
        failedNow('Not paid (settled by an operator).', '50.00', {
          settledBy: { operator: 'ops-anna', forced: false },
        }),
      ]),
  );
  t.test('not started, or ended: refused, even with --force', async (t) => {
    given(created, scheduled())
      .when(settle('paid', true))
      .thenRefuses(t, WithdrawalNotSettleable, { problem: 'not_started' });
    given(...processing, succeeded)
      .when(settle('not_paid', true))
      .thenRefuses(t, WithdrawalNotSettleable, { problem: 'ended', status: 'SUCCESS' });
  });
});

t.test(
  'a verdict after the withdrawal ended the other way: a conflict, never dropped',
  async (t) => {
    const settledNotPaid = [
      ...processing,
      requested(1),
      failedNow('Not paid (settled by an operator).', '50.00', {
        settledBy: { operator: 'ops-anna', forced: true },
      }),
    ];
    const conflict = (
      reported: 'paid' | 'refused' | 'not_paid',
      recorded: string,
      reason: string,
    ) =>
      ({
        type: 'WithdrawalOutcomeConflict',
        data: { withdrawalId: WD, recorded, reported, amount: '50.00', reason, at },
      }) as WalletEvent;
    const owedBack = conflict(
      'paid',
      'FAILED',
      "The third party paid this withdrawal after it was refunded: 50.00 USD is owed back by the wallet's owner.",
    );
    t.test('paid after a refund: money owed back, the balance untouched', async (t) => {
      given(...settledNotPaid)
        .when(answer(1, { kind: 'paid' }))
        .thenEmits(t, [owedBack]);
      given(...settledNotPaid)
        .when(lookup('paid'))
        .thenEmits(t, [owedBack]);
      const state = fold([...settledNotPaid, owedBack]);
      t.equal(state?.balance, 10000n, 'the refund stands; the debt is on record');
      t.same(state?.withdrawals.get(WD)?.conflict, { recorded: 'FAILED', reported: 'paid' });
      t.match(state?.withdrawals.get(WD)?.errorMessage, /owed back/);
    });
    t.test('recorded once', async (t) =>
      given(...settledNotPaid, owedBack)
        .when(lookup('paid'))
        .thenEmits(t, []),
    );
    t.test('refused or never received after a success: owed to the owner', async (t) => {
      const paid = [...processing, requested(1), succeeded];
      given(...paid)
        .when(lookup('not_found'))
        .thenEmits(t, [
          conflict(
            'not_paid',
            'SUCCESS',
            "The third party says this withdrawal was never paid after it was recorded as paid: 50.00 USD is owed to the wallet's owner.",
          ),
        ]);
      given(...paid)
        .when(answer(1, { kind: 'refused', reason: 'no' }))
        .thenEmits(t, [
          conflict(
            'refused',
            'SUCCESS',
            "The third party says this withdrawal was refused after it was recorded as paid: 50.00 USD is owed to the wallet's owner.",
          ),
        ]);
    });
    t.test('a verdict that agrees, or says nothing definite: nothing', async (t) => {
      given(...processing, requested(1), succeeded)
        .when(lookup('paid'))
        .thenEmits(t, []);
      given(...settledNotPaid)
        .when(lookup('not_found'))
        .thenEmits(t, []);
      given(...settledNotPaid)
        .when(answer(1, { kind: 'failed', reason: '503' }))
        .thenEmits(t, []);
      given(...settledNotPaid)
        .when(lookup('unsupported'))
        .thenEmits(t, []);
      given(created, deposited('100.00'), scheduled(), cancelled)
        .when(lookup('paid'))
        .thenEmits(t, []);
    });
  },
);

/**
 * Plays a third party through the policy the way the scheduler does: ask `nextStep`, turn the
 * step into a command with the third party's answer, decide, fold; the clock jumps to every wait.
 */
function play(thirdParty: { answers: PayoutAnswer[]; lookups: LookupResult[] }): {
  events: string[];
  status: string;
  balance: bigint | undefined;
  requests: number;
} {
  let state = fold(processing);
  let now = NOW;
  const events: string[] = [];
  let requests = 0;
  for (let i = 0; i < 30; i++) {
    const withdrawal = state?.withdrawals.get(WD) as Withdrawal;
    const step = nextStep(withdrawal, now, policy);
    if (step.kind === 'done' || step.kind === 'credit') break;
    if (step.kind === 'wait') {
      now = step.until;
      continue;
    }
    const commands: WalletCommand[] =
      step.kind === 'request'
        ? [
            { type: 'RequestPayout', withdrawalId: WD, attempt: step.attempt },
            answer(step.attempt, thirdParty.answers.shift() ?? { kind: 'paid' }),
          ]
        : step.kind === 'lookup'
          ? [lookup(thirdParty.lookups.shift() ?? 'unsupported')]
          : [{ type: 'StartWithdrawal', withdrawalId: WD }];
    if (step.kind === 'request') requests++;
    let progressed = false;
    for (const command of commands) {
      const decided = decide(command, state, now);
      state = fold(decided, state);
      events.push(...decided.map((e) => e.type));
      progressed ||= decided.length > 0;
    }
    if (!progressed) now = new Date(now.getTime() + policy.recheckMs);
  }
  const w = state?.withdrawals.get(WD);
  return { events, status: w?.status ?? '', balance: state?.balance, requests };
}

t.test('failure modes of the third party, end to end through the policy', async (t) => {
  const failedAnswer = { kind: 'failed', reason: 'HTTP 200, failed (503)' } as const;
  const unknownAnswer = { kind: 'unknown', reason: 'no answer' } as const;
  const paid = { kind: 'paid' } as const;
  // The third party's answers and lookups; then the events on record (`withdrawalEvents`) and the
  // status they end in.
  const rows: [string, Parameters<typeof play>[0], string, string][] = [
    ['paid at once', { answers: [paid], lookups: [] }, 'PayoutRequested Succeeded', 'SUCCESS'],
    [
      'failed once, then paid',
      { answers: [failedAnswer, paid], lookups: [] },
      'PayoutRequested AttemptFailed PayoutRequested Succeeded',
      'SUCCESS',
    ],
    [
      'failed every time: retried, a last lookup, refunded',
      { answers: [failedAnswer, failedAnswer, failedAnswer], lookups: ['not_found'] },
      `${THREE_FAILED_ATTEMPTS} Failed`,
      'FAILED',
    ],
    [
      'an error after paying on the last attempt: the last lookup finds it paid',
      { answers: [failedAnswer, failedAnswer, failedAnswer], lookups: ['paid'] },
      `${THREE_FAILED_ATTEMPTS} Succeeded`,
      'SUCCESS',
    ],
    [
      'refused: failed at once, no retry',
      { answers: [{ kind: 'refused', reason: 'HTTP 422' }], lookups: [] },
      'PayoutRequested Failed',
      'FAILED',
    ],
    [
      'timeout after paying: the lookup finds it paid, no second request',
      { answers: [unknownAnswer], lookups: ['paid'] },
      'PayoutRequested AttemptFailed Succeeded',
      'SUCCESS',
    ],
    [
      // Each timeout is on record (unknown), then the lookup's "not paid" (a definite failure);
      // the last one's lookup comes before the refund.
      'timeouts without paying: looked up, retried, refunded',
      {
        answers: [unknownAnswer, unknownAnswer, unknownAnswer],
        lookups: ['not_found', 'not_found', 'not_found'],
      },
      `${THREE_TIMEOUTS_NOT_PAID} Failed`,
      'FAILED',
    ],
    [
      'a timeout and no lookup (the original stub): never resent, never refunded',
      { answers: [unknownAnswer], lookups: ['unsupported', 'unsupported', 'unsupported'] },
      'PayoutRequested AttemptFailed AwaitingSettlement',
      'PROCESSING',
    ],
  ];
  for (const [name, thirdParty, short, status] of rows) {
    const events = withdrawalEvents(short);
    t.same(
      play(thirdParty),
      {
        events,
        status,
        // 100.00 deposited, 50.00 taken out when started: back only when it failed.
        balance: status === 'FAILED' ? 10000n : 5000n,
        // One request on record per request sent.
        requests: events.filter((type) => type === 'WithdrawalPayoutRequested').length,
      },
      name,
    );
  }
});
