// A claim's lease as the scheduler keeps it: no database renewal while more than nine tenths of
// the lease is left (right after a claim), a renewal once a tenth has passed, and a claim taken
// over is reported lost at the first step after that.
import t from 'tap';
import type { Claim } from '../../scheduler/claims/claimDue.ts';
import { createLeases } from '../../scheduler/leases.ts';

function setUp(answer = true) {
  let now = 1_000_000;
  const renewals: number[] = [];
  let valid = answer;
  const leases = createLeases({
    leaseMs: 30_000,
    now: () => now,
    renewInDatabase: async (_claim, at) => {
      renewals.push(at);
      return valid;
    },
  });
  return {
    leases,
    renewals,
    advance: (ms: number) => {
      now += ms;
    },
    takeOver: () => {
      valid = false;
    },
    now: () => now,
  };
}
const claim: Claim = { withdrawalId: 'w', walletId: 'x', lease: 'scheduler-a/1' };

t.test('right after the claim: no round trip', async (t) => {
  const { leases, renewals, advance, now } = setUp();
  leases.taken(claim, now());
  t.equal(await leases.renew(claim), true);
  advance(2_999);
  t.equal(await leases.renew(claim), true);
  t.same(renewals, [], 'nothing asked of the database');
});

t.test('once a tenth of the lease has passed: renewed, and counted from then', async (t) => {
  const { leases, renewals, advance, now } = setUp();
  leases.taken(claim, now());
  advance(3_000);
  t.equal(await leases.renew(claim), true);
  t.same(renewals, [now()]);
  advance(2_999);
  t.equal(await leases.renew(claim), true);
  t.equal(renewals.length, 1, 'the renewed lease is fresh again');
  advance(1);
  await leases.renew(claim);
  t.equal(renewals.length, 2);
});

t.test('a claim taken over is lost at the next renewal', async (t) => {
  const { leases, advance, takeOver, now } = setUp();
  leases.taken(claim, now());
  advance(31_000); // the lease ran out; another holder took the row
  takeOver();
  t.equal(await leases.renew(claim), false, 'the step stops');
});

t.test('an unknown or released claim always asks the database', async (t) => {
  const { leases, renewals, now } = setUp();
  t.equal(await leases.renew(claim), true);
  leases.taken(claim, now());
  leases.released(claim);
  await leases.renew(claim);
  t.equal(renewals.length, 2);
});
