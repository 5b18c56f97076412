// A claim's lease as the scheduler keeps it: no database renewal while more than nine tenths of
// the lease is left (right after a claim), a renewal once a tenth has passed, and a claim taken
// over is reported lost at the first step after that.
import t from 'tap';
import type { Claim } from '../../scheduler/claims/claimDue.ts';
import { createLeases } from '../../scheduler/leases.ts';

/** Leases on a clock and a database the test sets through `world`. */
function setUp() {
  const world = { now: 1_000_000, takenOver: false, renewals: [] as number[] };
  const leases = createLeases({
    leaseMs: 30_000,
    now: () => world.now,
    renewInDatabase: async () => {
      world.renewals.push(world.now);
      return !world.takenOver;
    },
  });
  return { leases, world };
}
const claim: Claim = { withdrawalId: 'w', walletId: 'x', lease: 'scheduler-a/1' };

t.test('right after the claim: no round trip', async (t) => {
  const { leases, world } = setUp();
  leases.taken(claim, world.now);
  t.equal(await leases.renew(claim), true);
  world.now += 2_999;
  t.equal(await leases.renew(claim), true);
  t.same(world.renewals, [], 'nothing asked of the database');
});

t.test('once a tenth of the lease has passed: renewed, and counted from then', async (t) => {
  const { leases, world } = setUp();
  leases.taken(claim, world.now);
  world.now += 3_000;
  t.equal(await leases.renew(claim), true);
  t.same(world.renewals, [world.now]);
  world.now += 2_999;
  t.equal(await leases.renew(claim), true);
  t.equal(world.renewals.length, 1, 'the renewed lease is fresh again');
  world.now += 1;
  await leases.renew(claim);
  t.equal(world.renewals.length, 2);
});

t.test('a claim taken over is lost at the next renewal', async (t) => {
  const { leases, world } = setUp();
  leases.taken(claim, world.now);
  world.now += 31_000; // the lease ran out; another holder took the row
  world.takenOver = true;
  t.equal(await leases.renew(claim), false, 'the step stops');
});

t.test('an unknown or released claim always asks the database', async (t) => {
  const { leases, world } = setUp();
  t.equal(await leases.renew(claim), true);
  leases.taken(claim, world.now);
  leases.released(claim);
  await leases.renew(claim);
  t.equal(world.renewals.length, 2);
});
