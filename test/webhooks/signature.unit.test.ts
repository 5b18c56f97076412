// Signatures as Standard Webhooks make them, checked by the standard's own library
// (`standardwebhooks`, an independent implementation); secrets sealed at rest.
import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import t from 'tap';
import { openSecret, SecretUnreadable, sealSecret } from '../../src/webhooks/secretBox.ts';
import { isSecret, newSecret, signatureHeader } from '../../src/webhooks/signature.ts';

t.test('a secret is whsec_ and the base64 of at least 24 random bytes', async (t) => {
  const secret = newSecret();
  t.match(secret, /^whsec_[A-Za-z0-9+/]+=*$/);
  t.ok(Buffer.from(secret.slice(6), 'base64').length >= 24);
  t.ok(isSecret(secret));
  t.not(newSecret(), secret);
});

t.test('the standard library verifies our signatures, and refuses tampering', async (t) => {
  const secret = newSecret();
  const id = randomUUID();
  const timestamp = Math.floor(Date.now() / 1000);
  const body = JSON.stringify({ type: 'Deposited', data: { amount: '1.00' } });
  const headers = {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signatureHeader([secret], id, timestamp, body),
  };
  t.match(headers['webhook-signature'], /^v1,[A-Za-z0-9+/]+=*$/);
  t.same(new Webhook(secret).verify(body, headers), JSON.parse(body));
  t.throws(() => new Webhook(secret).verify(`${body} `, headers), 'another body');
  t.throws(() => new Webhook(newSecret()).verify(body, headers), 'another secret');
  t.throws(
    () => new Webhook(secret).verify(body, { ...headers, 'webhook-id': randomUUID() }),
    'another id',
  );
});

t.test('during a rotation both secrets sign: either verifies', async (t) => {
  const [current, previous] = [newSecret(), newSecret()];
  const id = randomUUID();
  const timestamp = Math.floor(Date.now() / 1000);
  const body = '{"type":"WalletCreated"}';
  const header = signatureHeader([current, previous], id, timestamp, body);
  t.equal(header.split(' ').length, 2, 'two signatures, space-separated');
  const headers = {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': header,
  };
  t.ok(new Webhook(current).verify(body, headers), 'the new secret');
  t.ok(new Webhook(previous).verify(body, headers), 'the old secret');
  t.throws(() => new Webhook(newSecret()).verify(body, headers), 'a third one');
});

t.test('secrets at rest: sealed with WEBHOOK_SECRET_KEY, bound to their endpoint', async (t) => {
  const key = Buffer.alloc(32, 7);
  const secret = newSecret();
  const endpoint = randomUUID();
  t.equal(sealSecret(secret, endpoint, undefined), `plain:${secret}`, 'without a key: as it is');
  t.equal(openSecret(`plain:${secret}`, endpoint, key), secret, 'read back with or without a key');
  const sealed = sealSecret(secret, endpoint, key);
  t.notMatch(sealed, secret.slice(6, 20), 'the secret is not in the sealed text');
  t.not(sealSecret(secret, endpoint, key), sealed, 'a fresh nonce each time');
  t.equal(openSecret(sealed, endpoint, key), secret);
  t.throws(() => openSecret(sealed, endpoint, undefined), SecretUnreadable, 'no key');
  t.throws(
    () => openSecret(sealed, endpoint, Buffer.alloc(32, 8)),
    SecretUnreadable,
    'another key',
  );
  t.throws(
    () => openSecret(sealed, randomUUID(), key),
    SecretUnreadable,
    'moved to another endpoint',
  );
});
