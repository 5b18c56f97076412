// Console sessions over real HTTP: an API key exchanged for an HttpOnly, SameSite=Strict cookie;
// the cookie then stands for the key on /api routes, with the Origin checked on every request
// that changes something; signing out or revoking the key ends the session.
import t from 'tap';
import { httpClient, type Stack, startStack } from '../support/stack.ts';

const cookieOf = (setCookie: string | string[] | undefined) => {
  const header = Array.isArray(setCookie) ? setCookie[0] : setCookie;
  return String(header);
};

async function signIn(stack: Stack, key: string, origin: string | null = stack.baseUrl) {
  const plain = httpClient(stack.baseUrl);
  return plain('POST', '/console/session', { key }, origin ? { origin } : {});
}

t.test('console sessions', async (t) => {
  const stack = await startStack(t);
  const owner = await stack.http('POST', '/api/keys', { owner: 'alice', name: 'console' });
  t.equal(owner.status, 201);
  const ownerKey = owner.body.key as string;
  const wallet = (await stack.http('POST', '/api/wallets/', { owner: 'alice' })).body.uuid;
  const plain = httpClient(stack.baseUrl);

  t.test('a wrong key is refused with a clear message, and no cookie', async (t) => {
    const refused = await signIn(stack, 'wlk_not-a-real-key');
    t.equal(refused.status, 401);
    t.same(refused.body, { detail: 'Invalid token.' });
    t.notOk(refused.headers['set-cookie']);
  });

  t.test('signing in from another origin (or none) is refused', async (t) => {
    for (const origin of ['https://evil.example', null]) {
      const refused = await signIn(stack, ownerKey, origin);
      t.equal(refused.status, 403, `origin ${origin}`);
      t.notOk(refused.headers['set-cookie']);
    }
  });

  t.test('a session: cookie attributes, reads, writes from the same origin only', async (t) => {
    const signedIn = await signIn(stack, ownerKey);
    t.equal(signedIn.status, 201);
    t.match(signedIn.body, { auth: 'on', kind: 'owner', owner: 'alice' });
    const setCookie = cookieOf(signedIn.headers['set-cookie']);
    t.match(setCookie, /^wallet_session=[\w-]{43};/);
    t.match(setCookie, /HttpOnly/);
    t.match(setCookie, /SameSite=Strict/);
    t.match(setCookie, /Expires=/);
    t.notMatch(signedIn.text, ownerKey, 'the key is not in the answer');
    const cookie = setCookie.split(';')[0] as string;
    const withCookie = httpClient(stack.baseUrl, { cookie });

    const me = await withCookie('GET', '/console/session');
    t.equal(me.status, 200);
    t.equal(me.body.owner, 'alice');
    t.equal((await withCookie('GET', `/api/wallets/${wallet}/`)).status, 200, 'reads by cookie');

    const deposit = (headers: Record<string, string>) =>
      withCookie('PATCH', `/api/wallets/${wallet}/deposit/`, { amount: '5.00' }, headers);
    const crossSite = await deposit({ origin: 'https://evil.example' });
    t.equal(crossSite.status, 403);
    t.match(crossSite.body.detail, /Cross-origin request refused/);
    t.equal((await deposit({})).status, 403, 'no Origin: refused');
    const own = await deposit({ origin: stack.baseUrl });
    t.equal(own.status, 200);
    t.equal(own.body.balance, '5.00');

    const out = await withCookie('DELETE', '/console/session', undefined, {
      origin: stack.baseUrl,
    });
    t.equal(out.status, 204);
    t.match(cookieOf(out.headers['set-cookie']), /^wallet_session=;.*Expires=Thu, 01 Jan 1970/);
    const after = await withCookie('GET', `/api/wallets/${wallet}/`);
    t.equal(after.status, 401);
    t.same(after.body, { detail: 'Your session has ended; sign in again.' });
    t.equal((await withCookie('GET', '/console/session')).status, 401);
  });

  t.test('revoking the key ends its sessions', async (t) => {
    const other = await stack.http('POST', '/api/keys', { owner: 'alice' });
    const signedIn = await signIn(stack, other.body.key);
    const cookie = cookieOf(signedIn.headers['set-cookie']).split(';')[0] as string;
    const withCookie = httpClient(stack.baseUrl, { cookie });
    t.equal((await withCookie('GET', `/api/wallets/${wallet}/`)).status, 200);
    t.equal((await stack.http('DELETE', `/api/keys/${other.body.id}`)).status, 204);
    // The session cache trusts a lookup for at most its TTL (500 ms): poll until it has passed.
    let status = 200;
    for (let i = 0; i < 100 && status === 200; i++) {
      status = (await withCookie('GET', `/api/wallets/${wallet}/`)).status;
      if (status === 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    t.equal(status, 401);
  });

  t.test('without a cookie: not signed in', async (t) => {
    const me = await plain('GET', '/console/session');
    t.equal(me.status, 401);
    t.same(me.body, { detail: 'Not signed in.' });
  });
});

t.test('AUTH=off: the console is open, nobody signs in', async (t) => {
  const stack = await startStack(t, { env: { AUTH: 'off' } });
  const me = await httpClient(stack.baseUrl)('GET', '/console/session');
  t.equal(me.status, 200);
  t.match(me.body, { auth: 'off', kind: 'anonymous' });
});
