// The wallet decider: creating wallets, deposits, scheduling and cancelling withdrawals, transfers
// received, and `evolve` (pure: it never changes the state it is given). A withdrawal's life after
// it was scheduled is the payout policy's: withdrawal.unit.test.ts.
import t from 'tap';
import * as errors from '../../src/domain/errors.ts';
import { WALLET_EVENT_TYPES, type WalletEvent } from '../../src/domain/events.ts';
import {
  decide,
  evolve,
  fold,
  previousResult,
  type WalletCommand,
} from '../../src/domain/wallet.ts';
import {
  at,
  attemptFailed,
  cancelled,
  created,
  deposited,
  failed,
  given,
  LATER,
  NOW,
  scheduled,
  started,
  succeeded,
  TARGET,
  W,
  WD,
} from './given.ts';

type CommandOf<T extends WalletCommand['type']> = Extract<WalletCommand, { type: T }>;

/** Commands of one type: these defaults, any of them overridden. */
const commandWith =
  <T extends WalletCommand['type']>(type: T, defaults: Omit<CommandOf<T>, 'type'>) =>
  (over: Partial<CommandOf<T>> = {}): WalletCommand =>
    ({ type, ...defaults, ...over }) as CommandOf<T>;

const create = commandWith('CreateWallet', { walletId: W, currency: 'USD', owner: null });
const deposit = (
  amount: string | number,
  idempotency?: { key: string; requestHash: string },
): WalletCommand => ({
  type: 'Deposit',
  depositId: 'd9',
  amount,
  ...(idempotency ? { idempotency } : {}),
});
const schedule = commandWith('ScheduleWithdrawal', {
  withdrawalId: WD,
  amount: '50.00',
  scheduledTime: LATER,
  target: null,
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
      .thenRefuses(t, errors.InvalidCurrency, { currency: 'XYZ' }),
  );
  t.test('an existing wallet: conflict', async (t) =>
    given(created).when(create()).thenRefuses(t, errors.WalletAlreadyExists),
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
      .thenRefuses(t, errors.IdempotencyKeyReused, { key: 'k' });
  });
});

t.test('Deposit', async (t) => {
  t.test('into an unknown wallet: not found', async (t) =>
    given().when(deposit('1.00')).thenRefuses(t, errors.WalletNotFound),
  );
  t.test('a valid amount: Deposited, normalised to the currency', async (t) =>
    given(created)
      .when(deposit('100'))
      .thenEmits(t, [{ type: 'Deposited', data: { depositId: 'd9', amount: '100.00', at } }]),
  );
  t.test('a negative amount: not positive, with the value and the minimum', async (t) =>
    given(created)
      .when(deposit('-50.00'))
      .thenRefuses(t, errors.InvalidAmount, {
        currency: 'USD',
        problems: [{ kind: 'not_positive', value: -5000n, minimum: 1n }],
      }),
  );
  t.test('too many decimals for the currency', async (t) =>
    given(created)
      .when(deposit('1.005'))
      .thenRefuses(t, errors.InvalidAmount, {
        problems: [{ kind: 'too_many_places', maxPlaces: 2 }],
      }),
  );
  t.test('not a number', async (t) =>
    given(created)
      .when(deposit('ten'))
      .thenRefuses(t, errors.InvalidAmount, { problems: [{ kind: 'not_a_number' }] }),
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
        .thenRefuses(t, errors.IdempotencyKeyReused);
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
      .when(
        schedule({ target: { walletId: TARGET, found: { walletId: TARGET, currency: 'USD' } } }),
      )
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
      .thenRefuses(t, errors.InvalidScheduledTime, { problem: 'not_a_time' }),
  );
  t.test('in the past or now: invalid scheduled_time', async (t) => {
    given(created)
      .when(schedule({ scheduledTime: NOW }))
      .thenRefuses(t, errors.InvalidScheduledTime, { problem: 'not_in_future' });
  });
  t.test(
    'more than 10 years ahead: invalid scheduled time (the one place of that limit)',
    async (t) =>
      given(created)
        .when(schedule({ scheduledTime: new Date(NOW.getTime() + 11 * 365 * 24 * 3600 * 1000) }))
        .thenRefuses(t, errors.InvalidScheduledTime, { problem: 'too_far_ahead' }),
  );
  t.test('to itself: invalid target', async (t) =>
    given(created)
      .when(schedule({ target: { walletId: W, found: null } }))
      .thenRefuses(t, errors.InvalidTarget, { targetId: W, problem: { kind: 'same_wallet' } }),
  );
  t.test('to a wallet that does not exist: invalid target', async (t) =>
    given(created)
      .when(schedule({ target: { walletId: TARGET, found: null } }))
      .thenRefuses(t, errors.InvalidTarget, { problem: { kind: 'not_found' } }),
  );
  t.test('to another currency: invalid target', async (t) =>
    given(created)
      .when(
        schedule({ target: { walletId: TARGET, found: { walletId: TARGET, currency: 'EUR' } } }),
      )
      .thenRefuses(t, errors.InvalidTarget, {
        problem: { kind: 'other_currency', targetCurrency: 'EUR', currency: 'USD' },
      }),
  );
  t.test('a bad amount', async (t) =>
    given(created)
      .when(schedule({ amount: '0' }))
      .thenRefuses(t, errors.InvalidAmount),
  );
  t.test('unknown wallet', async (t) =>
    given().when(schedule()).thenRefuses(t, errors.WalletNotFound),
  );
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
      .thenRefuses(t, errors.WithdrawalNotCancellable),
  );
  t.test('ended: conflict', async (t) =>
    given(created, deposited('50.00'), scheduled(), started(), succeeded)
      .when(cancel)
      .thenRefuses(t, errors.WithdrawalNotCancellable),
  );
  t.test('unknown withdrawal: not found', async (t) =>
    given(created).when(cancel).thenRefuses(t, errors.WithdrawalNotFound),
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
    given().when(receive).thenRefuses(t, errors.WalletNotFound),
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

/**
 * Freezes `value` and everything it reaches (the persistent collections' insides too). Children
 * are frozen before their parent, so a frozen object's insides are frozen already: shared
 * structure is not walked again.
 */
function deepFreeze<T>(value: T, seen = new Set<unknown>()): T {
  if (value === null || typeof value !== 'object' || seen.has(value)) return value;
  if (Object.isFrozen(value)) return value;
  seen.add(value);
  for (const key of Reflect.ownKeys(value)) {
    deepFreeze((value as Record<PropertyKey, unknown>)[key], seen);
  }
  return Object.freeze(value);
}

/** A small deterministic generator, so a failing history can be replayed. */
function seeded(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const show = (state: unknown) =>
  JSON.stringify(state, (_key, value) => (typeof value === 'bigint' ? `${value}n` : value));

t.test(
  'evolve never changes its input: long random histories over deep-frozen states',
  async (t) => {
    const policy = { maxAttempts: 3, retryBaseMs: 1000, recheckMs: 60_000 };
    let events = 0;
    let changedInputs = 0;
    const seen = new Set<string>();
    for (let run = 0; run < 12; run++) {
      const random = seeded(run + 1);
      const pick = <T>(items: readonly T[]): T | undefined =>
        items[Math.floor(random() * items.length)];
      let now = NOW.getTime();
      let state = fold([created]);
      let expectedBalance = 0n;
      for (let step = 0; step < 1000; step++) {
        now += Math.floor(random() * 5000);
        const ids = [...(state?.withdrawals.keys() ?? [])];
        const withdrawalId = pick(ids) ?? WD;
        const choice = Math.floor(random() * 9);
        const command: WalletCommand =
          choice === 0
            ? {
                type: 'Deposit',
                depositId: `d${step}`,
                amount: `${1 + Math.floor(random() * 90)}.00`,
              }
            : choice === 1
              ? {
                  type: 'ScheduleWithdrawal',
                  withdrawalId: `w${run}-${step}`,
                  amount: `${1 + Math.floor(random() * 60)}.00`,
                  scheduledTime: new Date(now + 1 + Math.floor(random() * 10_000)),
                  target: null,
                  ...(random() < 0.3 ? { idempotency: { key: `k${step}`, requestHash: 'h' } } : {}),
                }
              : choice === 2
                ? { type: 'CancelWithdrawal', withdrawalId }
                : choice === 3
                  ? { type: 'StartWithdrawal', withdrawalId }
                  : choice === 4
                    ? {
                        type: 'RequestPayout',
                        withdrawalId,
                        attempt: (state?.withdrawals.get(withdrawalId)?.attempts ?? 0) + 1,
                      }
                    : choice === 5
                      ? {
                          type: 'RecordPayoutAnswer',
                          withdrawalId,
                          attempt: state?.withdrawals.get(withdrawalId)?.requestedAttempt ?? 1,
                          answer: pick([
                            { kind: 'paid' },
                            { kind: 'refused', reason: 'no' },
                            { kind: 'failed', reason: '503' },
                            { kind: 'unknown', reason: 'timeout' },
                          ] as const) ?? { kind: 'paid' },
                          policy,
                          jitter: 1,
                        }
                      : choice === 6
                        ? {
                            type: 'RecordLookup',
                            withdrawalId,
                            result:
                              pick(['paid', 'refused', 'not_found', 'unsupported'] as const) ??
                              'paid',
                            policy,
                            jitter: 1,
                          }
                        : choice === 7
                          ? {
                              type: 'SettleWithdrawal',
                              withdrawalId,
                              verdict: random() < 0.5 ? 'paid' : 'not_paid',
                              operator: 'op',
                              force: random() < 0.5,
                            }
                          : {
                              type: 'ReceiveTransfer',
                              withdrawalId: `t${step % 7}`,
                              fromWalletId: TARGET,
                              amount: 100n,
                              scheduledTime: at,
                            };
        let decided: WalletEvent[];
        try {
          decided = decide(command, deepFreeze(state), new Date(now));
        } catch {
          continue; // a refusal: nothing to fold
        }
        for (const event of decided) {
          const frozen = deepFreeze(state);
          const before = show(frozen);
          state = evolve(frozen, event);
          if (show(frozen) !== before) changedInputs++;
          events++;
          seen.add(event.type);
          if (event.type === 'Deposited')
            expectedBalance += BigInt(event.data.amount.replace('.', ''));
          if (event.type === 'TransferReceived')
            expectedBalance += BigInt(event.data.amount.replace('.', ''));
          if (event.type === 'WithdrawalStarted')
            expectedBalance -= BigInt(event.data.amount.replace('.', ''));
          if (event.type === 'WithdrawalFailed')
            expectedBalance += BigInt(event.data.refunded.replace('.', ''));
        }
        if ((state?.balance ?? 0n) < 0n || state?.balance !== expectedBalance) {
          t.fail(
            `run ${run}, step ${step}: balance ${state?.balance}, expected ${expectedBalance}`,
          );
          return;
        }
      }
    }
    t.ok(events > 3000, `folded ${events} events`);
    t.same([...seen].sort(), [...WALLET_EVENT_TYPES].filter((e) => e !== 'WalletCreated').sort());
    t.equal(changedInputs, 0, 'no input state changed');
  },
);
