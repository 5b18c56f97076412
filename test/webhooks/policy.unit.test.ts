// The notify role's pure parts: what a delivery's body is, who gets an event, and when a failed
// attempt is tried again.
import t from 'tap';
import {
  deliveryIdOf,
  isSubscribed,
  REGISTRATION_TOLERANCE_MS,
  webhookBody,
} from '../../notify/fanOut.ts';
import { attemptsFor, JITTER, verdictAfter } from '../../notify/retryPolicy.ts';
import type { RecordedEvent } from '../../src/eventstore/eventStore.ts';

const WALLET = '0f8fad5b-d9cb-469f-a165-70867728950e';
const event = (overrides: Partial<RecordedEvent> = {}): RecordedEvent => ({
  id: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
  streamId: `wallet-${WALLET}`,
  revision: 3n,
  position: { commit: 812n, prepare: 4711n },
  type: 'Deposited',
  data: {
    depositId: 'd1',
    amount: '10.00',
    at: '2030-01-01T00:00:00.000Z',
    idempotencyKey: 'owner:alice|k1',
    requestHash: 'abc',
  },
  metadata: { actor: { type: 'anonymous' } },
  recordedAt: new Date('2030-01-01T00:00:00.010Z'),
  ...overrides,
});

t.test('the body: type, timestamp, data with walletId, revision, globalPosition', async (t) => {
  t.same(JSON.parse(webhookBody(event())), {
    type: 'Deposited',
    timestamp: '2030-01-01T00:00:00.000Z',
    data: {
      walletId: WALLET,
      revision: 3,
      globalPosition: { commit: '812', prepare: '4711' },
      depositId: 'd1',
      amount: '10.00',
      at: '2030-01-01T00:00:00.000Z',
    },
  });
  t.notMatch(webhookBody(event()), /idempotencyKey|requestHash/, "the API's bookkeeping stays out");
});

t.test('a delivery id is one per endpoint and event', async (t) => {
  const a = deliveryIdOf('e1', 'ev1');
  t.equal(deliveryIdOf('e1', 'ev1'), a);
  t.not(deliveryIdOf('e2', 'ev1'), a);
  t.not(deliveryIdOf('e1', 'ev2'), a);
  t.match(a, /^[0-9a-f-]{36}$/);
});

t.test('who gets an event: types, the owner, and from registration on', async (t) => {
  const base = {
    id: 'e',
    owner: null,
    eventTypes: null,
    createdAt: new Date('2030-01-01T00:00:00Z'),
  };
  t.ok(isSubscribed(base, event(), 'alice'), 'an operator endpoint: every wallet');
  t.ok(isSubscribed(base, event(), null));
  t.ok(isSubscribed({ ...base, owner: 'alice' }, event(), 'alice'));
  t.notOk(isSubscribed({ ...base, owner: 'alice' }, event(), 'bob'), "another owner's wallet");
  t.notOk(isSubscribed({ ...base, owner: 'alice' }, event(), null), 'a wallet without owner');
  t.ok(isSubscribed({ ...base, eventTypes: ['Deposited'] }, event(), null));
  t.notOk(isSubscribed({ ...base, eventTypes: ['WithdrawalFailed'] }, event(), null));
  const registered = new Date(event().recordedAt.getTime() + REGISTRATION_TOLERANCE_MS);
  t.ok(isSubscribed({ ...base, createdAt: registered }, event(), null), 'within the tolerance');
  t.notOk(
    isSubscribed({ ...base, createdAt: new Date(registered.getTime() + 1) }, event(), null),
    'recorded before the registration',
  );
});

t.test('retries: the schedule with jitter, then failed', async (t) => {
  const scheduleMs = [5000, 300_000, 1_800_000];
  const now = new Date('2030-01-01T00:00:00Z');
  const max = attemptsFor(scheduleMs);
  t.equal(max, 4, 'the first attempt and one per wait');
  const after = (attempts: number, ok: boolean, random = 0.5) =>
    verdictAfter({ attempts, maxAttempts: max }, ok, { scheduleMs, now, random: () => random });
  t.same(after(0, true), { status: 'delivered' });
  t.same(after(0, false), { status: 'pending', nextAttemptAt: new Date(now.getTime() + 5000) });
  t.same(after(1, false), { status: 'pending', nextAttemptAt: new Date(now.getTime() + 300_000) });
  t.same(after(1, false, 0), {
    status: 'pending',
    nextAttemptAt: new Date(now.getTime() + 300_000 * (1 - JITTER)),
  });
  t.same(after(1, false, 1), {
    status: 'pending',
    nextAttemptAt: new Date(now.getTime() + 300_000 * (1 + JITTER)),
  });
  t.same(after(2, false), {
    status: 'pending',
    nextAttemptAt: new Date(now.getTime() + 1_800_000),
  });
  t.same(after(3, false), { status: 'failed' }, 'the fourth attempt was the last');
  t.same(after(3, true), { status: 'delivered' });
  t.same(
    verdictAfter({ attempts: 4, maxAttempts: 6 }, false, { scheduleMs, now, random: () => 0.5 }),
    { status: 'pending', nextAttemptAt: new Date(now.getTime() + 1_800_000) },
    'a retried failed delivery past the schedule waits the last wait',
  );
  t.same(
    verdictAfter({ attempts: 0, maxAttempts: 1 }, false, {
      scheduleMs: [],
      now,
      random: Math.random,
    }),
    { status: 'failed' },
    'no schedule: one attempt',
  );
});
