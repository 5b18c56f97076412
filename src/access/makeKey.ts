// Making a key, for the HTTP route and the CLI alike: the request checked, a fresh secret, its
// hash stored. The secret is returned to show once and kept nowhere.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { fieldError } from '../api/requestError.ts';
import { hashApiKey, newApiKey } from './apiKeys.ts';
import { insertKey } from './postgres/insertKey.ts';
import type { KeyRecord } from './postgres/keyRecord.ts';
import { isScope, SCOPES, type Scope } from './principal.ts';

export interface KeyRequest {
  readonly owner?: string | undefined;
  readonly scopes?: readonly string[] | undefined;
  readonly name?: string | undefined;
  readonly operator?: boolean | undefined;
}

const invalid = (field: string, message: string) => fieldError(field, message);

/** The key's kind, owner and scopes, or a 400-style error naming the field. */
export function checkKeyRequest(request: KeyRequest): {
  kind: 'owner' | 'operator';
  owner: string | null;
  scopes: readonly Scope[];
} {
  if (request.operator) {
    if (request.owner !== undefined) throw invalid('owner', 'Operator keys have no owner.');
    if (request.scopes !== undefined) throw invalid('scopes', 'Operator keys have every scope.');
    return { kind: 'operator', owner: null, scopes: SCOPES };
  }
  if (request.owner === undefined) throw invalid('owner', 'This field is required.');
  if (request.owner.trim() === '') throw invalid('owner', 'This field may not be blank.');
  const scopes = request.scopes ?? SCOPES;
  const unknown = scopes.find((scope) => !isScope(scope));
  if (unknown !== undefined) {
    throw invalid('scopes', `"${unknown}" is not a scope (${SCOPES.join(', ')}).`);
  }
  if (scopes.length === 0) throw invalid('scopes', 'Give at least one scope.');
  return { kind: 'owner', owner: request.owner, scopes: [...new Set(scopes as Scope[])] };
}

export async function makeKey(
  pool: pg.Pool,
  request: KeyRequest,
): Promise<{ record: KeyRecord; key: string }> {
  const checked = checkKeyRequest(request);
  const key = newApiKey();
  const record = await insertKey(pool, {
    id: randomUUID(),
    hash: hashApiKey(key),
    name: request.name ?? '',
    ...checked,
  });
  // 256 random bits never collide with a stored hash; insertKey only skips an existing one.
  if (!record) throw new Error('a fresh key collided with a stored one');
  return { record, key };
}
