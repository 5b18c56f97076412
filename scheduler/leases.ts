// The leases of the claims one scheduler holds, as its clock sees them. A step renews its claim
// in the database only once a tenth of the lease has passed since it was taken or last renewed:
// a burst of withdrawals claimed together then costs no round trip each before its first step,
// and every step still starts with nine tenths of a lease ahead of it (nobody else can take the
// claim before it runs out; a renewal that finds it taken over says so, and the step stops).
import type { Claim } from './claims/claimDue.ts';

export interface Leases {
  /** `claim` was taken for a whole lease by a query sent at `at` (on the `now` clock). */
  taken(claim: Claim, at: number): void;
  /** Whether `claim` is still this scheduler's, renewing it first when a tenth has passed. */
  renew(claim: Claim): Promise<boolean>;
  /** `claim` was released: forget it. */
  released(claim: Claim): void;
}

export function createLeases({
  leaseMs,
  now,
  renewInDatabase,
}: {
  readonly leaseMs: number;
  /** Milliseconds on a clock that never steps back (only differences count). */
  readonly now: () => number;
  /** Renews for a whole lease from now; false when the claim was taken over. */
  readonly renewInDatabase: (claim: Claim) => Promise<boolean>;
}): Leases {
  const until = new Map<string, number>();
  return {
    taken(claim, at) {
      until.set(claim.lease, at + leaseMs);
    },
    async renew(claim) {
      const at = now();
      if (at < (until.get(claim.lease) ?? 0) - leaseMs * 0.9) return true;
      const renewed = await renewInDatabase(claim);
      if (renewed) until.set(claim.lease, at + leaseMs);
      return renewed;
    },
    released(claim) {
      until.delete(claim.lease);
    },
  };
}
