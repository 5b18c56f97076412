// Standard Webhooks signatures (https://www.standardwebhooks.com): a secret is `whsec_` and the
// base64 of its key bytes; a signature is `v1,` and the base64 HMAC-SHA256 of
// "<webhook-id>.<webhook-timestamp>.<body>" under that key. During a rotation two secrets sign,
// and the header carries both signatures, space-separated: a receiver accepts either.
import { createHmac, randomBytes } from 'node:crypto';

const PREFIX = 'whsec_';

/** A fresh signing secret: 32 random bytes (the standard asks for 24 to 64). */
export function newSecret(): string {
  return PREFIX + randomBytes(32).toString('base64');
}

export function isSecret(text: string): boolean {
  return text.startsWith(PREFIX) && Buffer.from(text.slice(PREFIX.length), 'base64').length >= 24;
}

function sign(secret: string, content: string): string {
  const key = Buffer.from(secret.slice(PREFIX.length), 'base64');
  return `v1,${createHmac('sha256', key).update(content).digest('base64')}`;
}

/** The `webhook-signature` header: one signature per secret (the current one first). */
export function signatureHeader(
  secrets: readonly string[],
  id: string,
  timestamp: number,
  body: string,
): string {
  const content = `${id}.${timestamp}.${body}`;
  return secrets.map((secret) => sign(secret, content)).join(' ');
}
