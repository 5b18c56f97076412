// Decider tests in given / when / then form: given past events, when a command is decided at a
// moment, then these events (or this refusal).
import t, { type Test } from 'tap';
import type { WalletEvent } from '../../src/domain/events.ts';
import {
  decide,
  fold,
  previousResult,
  type WalletCommand,
  WalletError,
} from '../../src/domain/wallet.ts';

const W = '11111111-1111-4111-8111-111111111111';
const TARGET = '22222222-2222-4222-8222-222222222222';
const WD = '33333333-3333-4333-8333-333333333333';
const NOW = new Date('2026-01-01T12:00:00.000Z');
const at = NOW.toISOString();
const LATER = new Date('2026-01-01T12:05:00.000Z');

const created: WalletEvent = {
  type: 'WalletCreated',
  data: { walletId: W, currency: 'USD', owner: null, at: '2026-01-01T10:00:00.000Z' },
};
const deposited = (amount: string, depositId = 'd1'): WalletEvent => ({
  type: 'Deposited',
  data: { depositId, amount, at: '2026-01-01T10:01:00.000Z' },
});
const scheduled = (amount = '50.00', id = WD, target: string | null = null): WalletEvent => ({
  type: 'WithdrawalScheduled',
  data: {
    withdrawalId: id,
    amount,
    target,
    scheduledTime: '2026-01-01T11:00:00.000Z',
    at: '2026-01-01T10:02:00.000Z',
  },
});
const started = (amount = '50.00', id = WD): WalletEvent => ({
  type: 'WithdrawalStarted',
  data: { withdrawalId: id, amount, at: '2026-01-01T11:00:00.500Z' },
});
const attemptFailed = (attempt: number, outcome: 'failed' | 'unknown' = 'failed'): WalletEvent => ({
  type: 'WithdrawalAttemptFailed',
  data: {
    withdrawalId: WD,
    attempt,
    reason: 'HTTP 503',
    outcome,
    nextAttemptAt: '2026-01-01T11:00:05.000Z',
    at: '2026-01-01T11:00:01.000Z',
  },
});
const succeeded: WalletEvent = {
  type: 'WithdrawalSucceeded',
  data: { withdrawalId: WD, attempt: 1, at: '2026-01-01T11:00:02.000Z' },
};
const failed: WalletEvent = {
  type: 'WithdrawalFailed',
  data: { withdrawalId: WD, reason: 'refused', refunded: '50.00', at: '2026-01-01T11:00:02.000Z' },
};
const cancelled: WalletEvent = {
  type: 'WithdrawalCancelled',
  data: { withdrawalId: WD, at: '2026-01-01T10:30:00.000Z' },
};

function given(...history: WalletEvent[]) {
  return {
    when: (command: WalletCommand, now = NOW) => ({
      thenEmits(t: Test, expected: WalletEvent[]) {
        t.same(decide(command, fold(history), now), expected);
      },
      thenRefuses(t: Test, kind: WalletError['kind'], fields?: Record<string, string[]>) {
        const error = (() => {
          try {
            decide(command, fold(history), now);
          } catch (e) {
            return e;
          }
        })();
        t.type(error, WalletError);
        t.equal((error as WalletError).kind, kind);
        if (fields) t.same((error as WalletError).fields, fields);
      },
    }),
  };
}

const create = (
  over: Partial<Extract<WalletCommand, { type: 'CreateWallet' }>> = {},
): WalletCommand => ({
  type: 'CreateWallet',
  walletId: W,
  currency: 'USD',
  owner: null,
  ...over,
});
const deposit = (
  amount: string | number,
  idempotency?: { key: string; requestHash: string },
): WalletCommand => ({
  type: 'Deposit',
  depositId: 'd9',
  amount,
  ...(idempotency ? { idempotency } : {}),
});
const schedule = (
  over: Partial<Extract<WalletCommand, { type: 'ScheduleWithdrawal' }>> = {},
): WalletCommand => ({
  type: 'ScheduleWithdrawal',
  withdrawalId: WD,
  amount: '50.00',
  scheduledTime: LATER,
  target: null,
  ...over,
});

t.test('CreateWallet', async (t) => {
  t.test('on an empty stream: WalletCreated', async (t) =>
    given()
      .when(create({ owner: 'alice' }))
      .thenEmits(t, [
        { type: 'WalletCreated', data: { walletId: W, currency: 'USD', owner: 'alice', at } },
      ]),
  );
  t.test('keeps the idempotency key', async (t) =>
    given()
      .when(create({ idempotency: { key: 'k', requestHash: 'h' } }))
      .thenEmits(t, [
        {
          type: 'WalletCreated',
          data: {
            walletId: W,
            currency: 'USD',
            owner: null,
            at,
            idempotencyKey: 'k',
            requestHash: 'h',
          },
        },
      ]),
  );
  t.test('an unknown currency is invalid', async (t) =>
    given()
      .when(create({ currency: 'XYZ' }))
      .thenRefuses(t, 'invalid', {
        currency: ['"XYZ" is not a valid ISO 4217 currency code.'],
      }),
  );
  t.test('an existing wallet: conflict', async (t) =>
    given(created).when(create()).thenRefuses(t, 'conflict'),
  );
  t.test('the same key and request again: nothing new', async (t) => {
    const first = decide(create({ idempotency: { key: 'k', requestHash: 'h' } }), null, NOW);
    given(...first)
      .when(create({ idempotency: { key: 'k', requestHash: 'h' } }))
      .thenEmits(t, []);
  });
  t.test('the same key with another request: conflict', async (t) => {
    const first = decide(create({ idempotency: { key: 'k', requestHash: 'h' } }), null, NOW);
    given(...first)
      .when(create({ idempotency: { key: 'k', requestHash: 'other' } }))
      .thenRefuses(t, 'conflict');
  });
});

t.test('Deposit', async (t) => {
  t.test('into an unknown wallet: not found', async (t) =>
    given().when(deposit('1.00')).thenRefuses(t, 'not_found'),
  );
  t.test('a valid amount: Deposited, normalised to the currency', async (t) =>
    given(created)
      .when(deposit('100'))
      .thenEmits(t, [{ type: 'Deposited', data: { depositId: 'd9', amount: '100.00', at } }]),
  );
  t.test('a negative amount: both original messages', async (t) =>
    given(created)
      .when(deposit('-50.00'))
      .thenRefuses(t, 'invalid', {
        amount: [
          'Positive value required, got -50.00.',
          'Ensure this value is greater than or equal to 0.01.',
        ],
      }),
  );
  t.test('too many decimals for the currency', async (t) =>
    given(created)
      .when(deposit('1.005'))
      .thenRefuses(t, 'invalid', {
        amount: ['Ensure that there are no more than 2 decimal places.'],
      }),
  );
  t.test('not a number', async (t) =>
    given(created)
      .when(deposit('ten'))
      .thenRefuses(t, 'invalid', { amount: ['A valid number is required.'] }),
  );
  t.test(
    'a keyed deposit replayed: nothing new, and the first revision is remembered',
    async (t) => {
      const key = { key: 'dep-1', requestHash: 'h1' };
      const first = decide(deposit('5.00', key), fold([created]), NOW);
      const state = fold([created, ...first]);
      t.equal(previousResult(state, 'dep-1'), 1n);
      t.equal(previousResult(state, 'other'), undefined);
      given(created, ...first)
        .when(deposit('5.00', key))
        .thenEmits(t, []);
      given(created, ...first)
        .when(deposit('6.00', { key: 'dep-1', requestHash: 'h2' }))
        .thenRefuses(t, 'conflict');
    },
  );
});

t.test('ScheduleWithdrawal', async (t) => {
  t.test('not checked against the balance at submission', async (t) =>
    given(created)
      .when(schedule())
      .thenEmits(t, [
        {
          type: 'WithdrawalScheduled',
          data: {
            withdrawalId: WD,
            amount: '50.00',
            target: null,
            scheduledTime: LATER.toISOString(),
            at,
          },
        },
      ]),
  );
  t.test('to a target wallet of the same currency', async (t) =>
    given(created)
      .when(schedule({ target: { walletId: TARGET, currency: 'USD' } }))
      .thenEmits(t, [
        {
          type: 'WithdrawalScheduled',
          data: {
            withdrawalId: WD,
            amount: '50.00',
            target: TARGET,
            scheduledTime: LATER.toISOString(),
            at,
          },
        },
      ]),
  );
  t.test('out of the representable range: invalid, not a crash', async (t) =>
    given(created)
      .when(schedule({ scheduledTime: new Date(Number.NaN) }))
      .thenRefuses(t, 'invalid', { scheduled_time: ['Scheduled time is out of range.'] }),
  );
  t.test('in the past or now: invalid scheduled_time', async (t) => {
    given(created)
      .when(schedule({ scheduledTime: NOW }))
      .thenRefuses(t, 'invalid', {
        scheduled_time: ['Scheduled time must be in the future.'],
      });
  });
  t.test('to itself: invalid target', async (t) =>
    given(created)
      .when(schedule({ target: { walletId: W, currency: 'USD' } }))
      .thenRefuses(t, 'invalid', {
        target: ['Target wallet must differ from the source wallet.'],
      }),
  );
  t.test('to another currency: invalid target', async (t) =>
    given(created)
      .when(schedule({ target: { walletId: TARGET, currency: 'EUR' } }))
      .thenRefuses(t, 'invalid'),
  );
  t.test('a bad amount', async (t) =>
    given(created)
      .when(schedule({ amount: '0' }))
      .thenRefuses(t, 'invalid'),
  );
  t.test('unknown wallet', async (t) => given().when(schedule()).thenRefuses(t, 'not_found'));
});

t.test('CancelWithdrawal', async (t) => {
  const cancel: WalletCommand = { type: 'CancelWithdrawal', withdrawalId: WD };
  t.test('pending: WithdrawalCancelled', async (t) =>
    given(created, scheduled())
      .when(cancel)
      .thenEmits(t, [{ type: 'WithdrawalCancelled', data: { withdrawalId: WD, at } }]),
  );
  t.test('already cancelled: nothing new', async (t) =>
    given(created, scheduled(), cancelled).when(cancel).thenEmits(t, []),
  );
  t.test('started: conflict', async (t) =>
    given(created, deposited('50.00'), scheduled(), started())
      .when(cancel)
      .thenRefuses(t, 'conflict'),
  );
  t.test('ended: conflict', async (t) =>
    given(created, deposited('50.00'), scheduled(), started(), succeeded)
      .when(cancel)
      .thenRefuses(t, 'conflict'),
  );
  t.test('unknown withdrawal: not found', async (t) =>
    given(created).when(cancel).thenRefuses(t, 'not_found'),
  );
});

t.test('StartWithdrawal', async (t) => {
  const start: WalletCommand = { type: 'StartWithdrawal', withdrawalId: WD };
  t.test('due and covered: WithdrawalStarted', async (t) =>
    given(created, deposited('100.00'), scheduled())
      .when(start)
      .thenEmits(t, [
        { type: 'WithdrawalStarted', data: { withdrawalId: WD, amount: '50.00', at } },
      ]),
  );
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
        {
          type: 'WithdrawalFailed',
          data: {
            withdrawalId: WD,
            reason: 'Insufficient funds. Available balance: 49.99. Required amount: 50.00.',
            refunded: '0.00',
            at,
          },
        },
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
        {
          type: 'WithdrawalFailed',
          data: {
            withdrawalId: WD,
            reason: 'Insufficient funds. Available balance: 40.00. Required amount: 50.00.',
            refunded: '0.00',
            at,
          },
        },
      ]),
  );
  t.test('not yet due: nothing', async (t) =>
    given(created, deposited('100.00'), scheduled())
      .when(start, new Date('2026-01-01T10:59:59.999Z'))
      .thenEmits(t, []),
  );
  t.test('already started, ended or cancelled: nothing', async (t) => {
    given(created, deposited('100.00'), scheduled(), started()).when(start).thenEmits(t, []);
    given(created, deposited('100.00'), scheduled(), started(), succeeded)
      .when(start)
      .thenEmits(t, []);
    given(created, scheduled(), cancelled).when(start).thenEmits(t, []);
  });
  t.test('unknown withdrawal: not found', async (t) =>
    given(created).when(start).thenRefuses(t, 'not_found'),
  );
});

t.test('RequestPayout', async (t) => {
  const request = (attempt: number): WalletCommand => ({
    type: 'RequestPayout',
    withdrawalId: WD,
    attempt,
  });
  const requested = (attempt: number): WalletEvent => ({
    type: 'WithdrawalPayoutRequested',
    data: { withdrawalId: WD, attempt, at: '2026-01-01T11:00:00.800Z' },
  });
  const history = [created, deposited('100.00'), scheduled(), started()];
  t.test('the next attempt of a started withdrawal: on record before it goes out', async (t) =>
    given(...history)
      .when(request(1))
      .thenEmits(t, [
        { type: 'WithdrawalPayoutRequested', data: { withdrawalId: WD, attempt: 1, at } },
      ]),
  );
  t.test('requested and no outcome yet: the outcome is unknown (a crash here)', async (t) => {
    const wallet = fold([...history, requested(1)]);
    t.equal(wallet?.withdrawals.get(WD)?.outcomeUnknown, true);
    t.equal(wallet?.withdrawals.get(WD)?.status, 'PROCESSING');
    t.equal(wallet?.balance, 5000n, 'no money moves');
  });
  t.test('a definite failure of that attempt clears it; the next may be requested', async (t) => {
    t.equal(
      fold([...history, requested(1), attemptFailed(1)])?.withdrawals.get(WD)?.outcomeUnknown,
      false,
    );
    given(...history, requested(1), attemptFailed(1))
      .when(request(2))
      .thenEmits(t, [
        { type: 'WithdrawalPayoutRequested', data: { withdrawalId: WD, attempt: 2, at } },
      ]);
  });
  t.test(
    'after an unknown attempt (the lookup then said never received): the next goes on record',
    async (t) =>
      given(...history, requested(1), attemptFailed(1, 'unknown'))
        .when(request(2))
        .thenEmits(t, [
          { type: 'WithdrawalPayoutRequested', data: { withdrawalId: WD, attempt: 2, at } },
        ]),
  );
  t.test('asked again for the same attempt, or for another one: nothing', async (t) => {
    given(...history, requested(1))
      .when(request(1))
      .thenEmits(t, []);
    given(...history, requested(1))
      .when(request(2))
      .thenEmits(t, []);
    given(...history)
      .when(request(2))
      .thenEmits(t, []);
  });
  t.test('not started, or ended: nothing', async (t) => {
    given(created, deposited('100.00'), scheduled()).when(request(1)).thenEmits(t, []);
    given(...history, succeeded)
      .when(request(1))
      .thenEmits(t, []);
  });
});

t.test('RecordAttemptFailure', async (t) => {
  const record = (attempt: number): WalletCommand => ({
    type: 'RecordAttemptFailure',
    withdrawalId: WD,
    attempt,
    reason: 'HTTP 503',
    outcome: 'failed',
    nextAttemptAt: new Date('2026-01-01T12:00:05.000Z'),
  });
  const history = [created, deposited('100.00'), scheduled(), started()];
  t.test('the next attempt of a started withdrawal: WithdrawalAttemptFailed', async (t) =>
    given(...history)
      .when(record(1))
      .thenEmits(t, [
        {
          type: 'WithdrawalAttemptFailed',
          data: {
            withdrawalId: WD,
            attempt: 1,
            reason: 'HTTP 503',
            outcome: 'failed',
            nextAttemptAt: '2026-01-01T12:00:05.000Z',
            at,
          },
        },
      ]),
  );
  t.test('an unknown outcome is remembered until a later attempt says otherwise', async (t) => {
    t.equal(
      fold([...history, attemptFailed(1, 'unknown')])?.withdrawals.get(WD)?.outcomeUnknown,
      true,
    );
    t.equal(
      fold([...history, attemptFailed(1, 'unknown'), attemptFailed(2)])?.withdrawals.get(WD)
        ?.outcomeUnknown,
      false,
    );
  });
  t.test('the same attempt reported twice: nothing', async (t) =>
    given(...history, attemptFailed(1))
      .when(record(1))
      .thenEmits(t, []),
  );
  t.test('not started or ended: nothing', async (t) => {
    given(created, scheduled()).when(record(1)).thenEmits(t, []);
    given(...history, succeeded)
      .when(record(1))
      .thenEmits(t, []);
  });
});

t.test('CompleteWithdrawal', async (t) => {
  const complete: WalletCommand = { type: 'CompleteWithdrawal', withdrawalId: WD };
  const history = [created, deposited('100.00'), scheduled(), started()];
  t.test('started: WithdrawalSucceeded, counting attempts', async (t) => {
    given(...history)
      .when(complete)
      .thenEmits(t, [{ type: 'WithdrawalSucceeded', data: { withdrawalId: WD, attempt: 1, at } }]);
    given(...history, attemptFailed(1), attemptFailed(2))
      .when(complete)
      .thenEmits(t, [{ type: 'WithdrawalSucceeded', data: { withdrawalId: WD, attempt: 3, at } }]);
  });
  t.test('already ended: nothing (ends exactly once)', async (t) => {
    given(...history, succeeded)
      .when(complete)
      .thenEmits(t, []);
    given(...history, failed)
      .when(complete)
      .thenEmits(t, []);
  });
  t.test('not started: conflict', async (t) =>
    given(created, scheduled()).when(complete).thenRefuses(t, 'conflict'),
  );
});

t.test('FailWithdrawal', async (t) => {
  const fail: WalletCommand = { type: 'FailWithdrawal', withdrawalId: WD, reason: 'refused' };
  const history = [created, deposited('100.00'), scheduled(), started()];
  t.test('started: WithdrawalFailed refunding what was taken', async (t) =>
    given(...history)
      .when(fail)
      .thenEmits(t, [
        {
          type: 'WithdrawalFailed',
          data: { withdrawalId: WD, reason: 'refused', refunded: '50.00', at },
        },
      ]),
  );
  t.test('already ended: nothing', async (t) => {
    given(...history, failed)
      .when(fail)
      .thenEmits(t, []);
    given(...history, succeeded)
      .when(fail)
      .thenEmits(t, []);
  });
  t.test('not started: conflict', async (t) =>
    given(created, scheduled()).when(fail).thenRefuses(t, 'conflict'),
  );
});

t.test('ReceiveTransfer', async (t) => {
  const receive: WalletCommand = {
    type: 'ReceiveTransfer',
    withdrawalId: WD,
    fromWalletId: TARGET,
    amount: 5000n,
    scheduledTime: '2026-01-01T11:00:00.000Z',
  };
  const transferred: WalletEvent = {
    type: 'TransferReceived',
    data: {
      withdrawalId: WD,
      fromWalletId: TARGET,
      amount: '50.00',
      scheduledTime: '2026-01-01T11:00:00.000Z',
      at,
    },
  };
  t.test('first time: TransferReceived', async (t) =>
    given(created).when(receive).thenEmits(t, [transferred]),
  );
  t.test('again: nothing (credited exactly once)', async (t) =>
    given(created, transferred).when(receive).thenEmits(t, []),
  );
  t.test('unknown wallet: not found', async (t) =>
    given().when(receive).thenRefuses(t, 'not_found'),
  );
});

t.test(
  'evolve: balance = deposits + transfers in - started + refunds, statuses and revision',
  async (t) => {
    const transfer: WalletEvent = {
      type: 'TransferReceived',
      data: { withdrawalId: 'x', fromWalletId: TARGET, amount: '7.00', scheduledTime: at, at },
    };
    const refunded: WalletEvent = {
      type: 'WithdrawalFailed',
      data: { ...failed.data, refunded: '30.00' },
    } as WalletEvent;
    const state = fold([
      created,
      deposited('100.00'),
      transfer,
      scheduled('30.00'),
      started('30.00'),
      attemptFailed(1),
      refunded,
    ]);
    t.equal(state?.balance, 10700n);
    t.equal(state?.revision, 6n);
    t.equal(state?.updatedAt, '2026-01-01T11:00:02.000Z');
    const withdrawal = state?.withdrawals.get(WD);
    t.equal(withdrawal?.status, 'FAILED');
    t.equal(withdrawal?.errorMessage, 'refused');
    t.equal(withdrawal?.attempts, 1);
    t.equal(state?.incoming.get('x')?.amount, 700n);
    const success = fold([created, deposited('100.00'), scheduled(), started(), succeeded]);
    t.equal(success?.balance, 5000n);
    t.equal(success?.withdrawals.get(WD)?.status, 'SUCCESS');
    t.equal(fold([created, scheduled(), cancelled])?.withdrawals.get(WD)?.status, 'CANCELLED');
  },
);
