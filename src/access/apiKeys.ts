// API keys: a visible prefix and 256 random bits, stored only as their SHA-256 hash.
//
// A presented key is hashed and looked up by that hash (an index lookup, then a map lookup in the
// cache). Neither compares the secret itself: how long a comparison takes can only tell an
// attacker how many leading bytes of the *hash* of their guess matched a stored hash, and without
// a SHA-256 preimage that says nothing about the key. So no byte-by-byte comparison of secrets
// ever happens, which is what constant-time comparison protects against.
import * as crypto from 'node:crypto';

export const KEY_PREFIX = 'wlk_';

export function newApiKey(): string {
  return `${KEY_PREFIX}${crypto.randomBytes(32).toString('base64url')}`;
}

export function hashApiKey(key: string): Buffer {
  return crypto.createHash('sha256').update(key, 'utf8').digest();
}

/** The hash as base64 text (a map key); `Buffer.from(text, 'base64')` is the hash again. Hashed
 * for every request: one call where Node has it (20.12 and later), not a Hash object. */
export const hashApiKeyText: (key: string) => string =
  typeof crypto.hash === 'function'
    ? (key) => crypto.hash('sha256', key, 'base64')
    : (key) => crypto.createHash('sha256').update(key, 'utf8').digest('base64');

/** What an Authorization header holds: a bearer token, or nothing usable. */
export type Credentials = { readonly token: string } | 'missing' | 'malformed';

/** `Bearer <token>`; the token is 1 to 512 visible ASCII characters (what a key can be). */
export function readBearer(header: string | undefined): Credentials {
  if (header === undefined || header === '') return 'missing';
  const match = /^Bearer +([\x21-\x7e]{1,512})$/i.exec(header.trim());
  return match?.[1] ? { token: match[1] } : 'malformed';
}
