// Who is asking: the principal a request's key names, its scopes, and the small pure rules the
// routes apply with it (which wallets it may see, who owns a new wallet, who to record as actor).
import { fieldError } from '../api/requestError.ts';
import type { Actor } from '../commands/metadata.ts';

export const SCOPES = [
  'wallets:read',
  'wallets:write',
  'withdrawals:write',
  'webhooks:write',
] as const;
export type Scope = (typeof SCOPES)[number];

export type Principal =
  /** An owner's key: that owner's wallets only. */
  | {
      readonly kind: 'owner';
      readonly keyId: string;
      readonly owner: string;
      readonly scopes: readonly Scope[];
    }
  /** An operator's key: every wallet, keys, the access log; every scope. */
  | {
      readonly kind: 'operator';
      readonly keyId: string;
      readonly name: string;
      readonly scopes: readonly Scope[];
    }
  /** AUTH=off (the original's open API), and the open routes (/health, /docs, ...). */
  | { readonly kind: 'anonymous' };

/** The principal of a key (not anonymous). */
export type KeyPrincipal = Exclude<Principal, { kind: 'anonymous' }>;

export const ANONYMOUS: Principal = Object.freeze({ kind: 'anonymous' });

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

export function hasScope(principal: Principal, scope: Scope): boolean {
  return principal.kind === 'anonymous' || principal.scopes.includes(scope);
}

/**
 * Whether the principal may see and act on a wallet with this owner: an owner key its own wallets
 * only (a wallet without owner belongs to no owner key), an operator every wallet, and everyone
 * every wallet with AUTH=off. A route answers `false` exactly as an unknown wallet (404).
 */
export function mayAccessWallet(principal: Principal, walletOwner: string | null): boolean {
  return principal.kind !== 'owner' || walletOwner === principal.owner;
}

/**
 * The owner of a wallet this principal creates: an owner key's own owner (the body may name it
 * again, another owner is a 400 on `owner`); otherwise what the body says.
 */
export function ownerForNewWallet(
  principal: Principal,
  bodyOwner: string | null | undefined,
): string | null {
  if (principal.kind !== 'owner') return bodyOwner ?? null;
  if (bodyOwner !== undefined && bodyOwner !== null && bodyOwner !== principal.owner) {
    const message = 'An owner key creates wallets of its own owner only.';
    throw fieldError('owner', message);
  }
  return principal.owner;
}

export function actorOf(principal: Principal): Actor {
  switch (principal.kind) {
    case 'owner':
      return { type: 'owner', keyId: principal.keyId, owner: principal.owner };
    case 'operator':
      return { type: 'operator', keyId: principal.keyId, name: principal.name };
    case 'anonymous':
      return { type: 'anonymous' };
  }
}

/**
 * The namespace a principal's Idempotency-Keys live in where they are not per wallet (creating a
 * wallet): per owner, so two owners' equal keys never meet; one for operators; the empty one with
 * AUTH=off (today's global keys, so wallets made before keep their ids).
 */
export function idempotencyNamespace(principal: Principal): string {
  switch (principal.kind) {
    case 'owner':
      return `owner:${principal.owner}`;
    case 'operator':
      return 'operator';
    case 'anonymous':
      return '';
  }
}
