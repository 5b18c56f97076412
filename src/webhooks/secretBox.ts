// Signing secrets at rest. The notify role must sign with them, so they cannot be stored as hashes
// (as API keys are); with WEBHOOK_SECRET_KEY set they are stored encrypted (AES-256-GCM, a fresh
// nonce each, the endpoint id as associated data so a sealed secret cannot be moved to another
// endpoint), else as they are. Both forms are read back, so setting the key later only changes how
// new and rotated secrets are stored.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const SEALED = 'aes256gcm:';
const PLAIN = 'plain:';

export function sealSecret(secret: string, endpointId: string, key: Buffer | undefined): string {
  if (!key) return PLAIN + secret;
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(endpointId));
  const sealed = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  const parts = [nonce, cipher.getAuthTag(), sealed].map((b) => b.toString('base64'));
  return SEALED + parts.join(':');
}

/** The stored secret could not be read: encrypted with a key this process does not have. */
export class SecretUnreadable extends Error {
  override readonly name = 'SecretUnreadable';
}

export function openSecret(stored: string, endpointId: string, key: Buffer | undefined): string {
  if (stored.startsWith(PLAIN)) return stored.slice(PLAIN.length);
  if (!stored.startsWith(SEALED)) throw new SecretUnreadable('Unknown form of a stored secret.');
  if (!key) {
    throw new SecretUnreadable(
      'The signing secret is encrypted and WEBHOOK_SECRET_KEY is not set in this process.',
    );
  }
  const [nonce, tag, sealed] = stored
    .slice(SEALED.length)
    .split(':')
    .map((part) => Buffer.from(part, 'base64'));
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, nonce as Buffer);
    decipher.setAAD(Buffer.from(endpointId));
    decipher.setAuthTag(tag as Buffer);
    return Buffer.concat([decipher.update(sealed as Buffer), decipher.final()]).toString('utf8');
  } catch {
    throw new SecretUnreadable(
      'The signing secret cannot be decrypted with this WEBHOOK_SECRET_KEY (another key sealed it).',
    );
  }
}
