// API keys: a visible prefix and 256 random bits, stored only as their SHA-256 hash.
//
// A presented key is hashed and looked up by that hash (an index lookup, then a map lookup in the
// cache). Neither compares the secret itself: how long a comparison takes can only tell an
// attacker how many leading bytes of the *hash* of their guess matched a stored hash, and without
// a SHA-256 preimage that says nothing about the key. So no byte-by-byte comparison of secrets
// ever happens, which is what constant-time comparison protects against. (The one comparison of
// raw header text, an access-layer shortcut, is `sameSecret`: constant time.)
import * as crypto from 'node:crypto';

export const KEY_PREFIX = 'wlk_';

export function newApiKey(): string {
  return `${KEY_PREFIX}${crypto.randomBytes(32).toString('base64url')}`;
}

export function hashApiKey(key: string): Buffer {
  return crypto.createHash('sha256').update(key, 'utf8').digest();
}

/** A key's (or session id's) SHA-256 hash as base64 text: a type of its own, so a raw secret
 * cannot be passed where a hash is meant. */
export type KeyHash = string & { readonly __brand: 'KeyHash' };

/** The hash as base64 text (a map key); `Buffer.from(text, 'base64')` is the hash again. One
 * call where Node has it (20.12 and later), not a Hash object. */
export const hashApiKeyText: (key: string) => KeyHash =
  typeof crypto.hash === 'function'
    ? (key) => crypto.hash('sha256', key, 'base64') as KeyHash
    : (key) => crypto.createHash('sha256').update(key, 'utf8').digest('base64') as KeyHash;

/** Whether two secrets are the same, in a time that does not depend on where they differ. */
export function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && crypto.timingSafeEqual(left, right);
}

/** What an Authorization header holds: a bearer token, or nothing usable. */
export type Credentials = { readonly token: string } | 'missing' | 'malformed';

/** `Bearer <token>`; the token is 1 to 512 visible ASCII characters (what a key can be). */
export function readBearer(header: string | undefined): Credentials {
  if (header === undefined || header === '') return 'missing';
  const match = /^Bearer +([\x21-\x7e]{1,512})$/i.exec(header.trim());
  return match?.[1] ? { token: match[1] } : 'malformed';
}
