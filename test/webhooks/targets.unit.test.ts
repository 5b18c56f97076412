// Where webhooks may go: only http(s), never into the service's own networks; names are resolved
// and every address checked, at registration and (safeLookup) on every connection.
import net from 'node:net';
import t from 'tap';
import {
  checkTargetUrl,
  type Resolve,
  refusedAddress,
  resolveAllowed,
  safeLookup,
  TargetRefused,
} from '../../src/webhooks/targets.ts';
import { assertRefusal, REFUSED_TARGETS } from './refusedTargets.ts';

/** A resolver with fixed answers: the DNS of a test (rebinding, private names). */
const fixed =
  (answers: Record<string, string[]>): Resolve =>
  async (hostname) => {
    const addresses = answers[hostname];
    if (!addresses)
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: net.isIP(address) }));
  };

t.test('refused addresses: loopback, private, link-local, unique-local, metadata', async (t) => {
  const loopback = 'a loopback address';
  const isPrivate = 'a private address';
  const linkLocalV4 = 'a link-local or cloud metadata address';
  const uniqueLocal = 'a unique-local address (this includes the fd00:ec2::254 metadata service)';
  // Each address and what the refusal calls it (undefined: a public address, allowed).
  for (const [address, what] of [
    ['127.0.0.1', loopback],
    ['127.255.0.7', loopback],
    ['10.1.2.3', isPrivate],
    ['172.16.0.1', isPrivate],
    ['172.31.255.255', isPrivate],
    ['192.168.1.1', isPrivate],
    ['169.254.169.254', linkLocalV4],
    ['169.254.0.1', linkLocalV4],
    ['100.64.0.1', 'a shared (carrier-grade NAT) address'],
    ['0.0.0.0', 'an unspecified ("this network") address'],
    ['224.0.0.1', 'a multicast address'],
    ['255.255.255.255', 'a reserved address'],
    ['::1', loopback],
    ['::', 'an unspecified address'],
    ['fe80::1', 'a link-local address'],
    ['fc00::1', uniqueLocal],
    ['fd00:ec2::254', uniqueLocal],
    // IPv4-mapped and NAT64 addresses count as the IPv4 address they hold.
    ['::ffff:127.0.0.1', loopback],
    ['::ffff:10.0.0.1', isPrivate],
    ['::ffff:a9fe:a9fe', linkLocalV4],
    ['64:ff9b::a9fe:a9fe', linkLocalV4],
    ['64:ff9b::10.0.0.1', isPrivate],
    ['ff02::1', 'a multicast address'],
    ['[::1]', loopback],
    ['93.184.215.14', undefined],
    ['8.8.8.8', undefined],
    ['2606:2800:21f:cb07:6820:80da:af6b:8b2c', undefined],
    ['172.32.0.1', undefined],
    ['64:ff9b::808:808', undefined],
  ] as const) {
    t.equal(refusedAddress(address), what, address);
  }
});

t.test('registration: schemes, literal addresses, names and what they resolve to', async (t) => {
  const policy = {
    allowPrivate: false,
    resolve: fixed({
      'hooks.example.com': ['93.184.215.14'],
      'internal.example.com': ['10.20.30.40'],
      'mixed.example.com': ['93.184.215.14', '192.168.0.9'],
      'v6.example.com': ['2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
    }),
  };
  const problem = async (url: string) => {
    const checked = await checkTargetUrl(url, policy);
    return 'problem' in checked ? checked.problem : undefined;
  };
  t.equal(await problem('https://hooks.example.com/in?x=1'), undefined);
  t.equal(await problem('http://v6.example.com:8080/'), undefined);
  for (const row of REFUSED_TARGETS) assertRefusal(t, row, await problem(row[0]));
  t.match(
    await problem('https://internal.example.com/hook'),
    /^The host "internal\.example\.com" resolves to 10\.20\.30\.40, a private address/,
  );
  t.match(
    await problem('https://mixed.example.com/'),
    /resolves to 192\.168\.0\.9/,
    'any address refused refuses the name',
  );
  t.equal(
    await problem('https://nowhere.example.com/'),
    'The host "nowhere.example.com" does not resolve.',
  );
  t.equal(
    await checkTargetUrl('http://127.0.0.1:9/', { allowPrivate: true }).then((c) => 'url' in c),
    true,
    'WEBHOOK_ALLOW_PRIVATE_TARGETS allows every address',
  );
});

t.test('a name resolved by the system resolver: localhost is loopback', async (t) => {
  const checked = await checkTargetUrl('http://localhost:8080/hook', { allowPrivate: false });
  t.ok('problem' in checked);
  t.match(
    'problem' in checked ? checked.problem : '',
    /^The host "localhost" resolves to (127\.0\.0\.1|::1), a loopback address/,
  );
});

t.test('safeLookup refuses at connection time and connects to the checked address', async (t) => {
  // The name was public when registered; now it answers a private address (DNS rebinding).
  let answer = '93.184.215.14';
  const lookup = safeLookup(async () => [{ address: answer, family: 4 }]);
  const one = (options: object) =>
    new Promise<{ error: Error | null; address: unknown }>((resolve) =>
      lookup('rebind.example.com', options as never, (error, address) =>
        resolve({ error, address }),
      ),
    );
  t.same(await one({}), { error: null, address: '93.184.215.14' });
  t.same(await one({ all: true }), {
    error: null,
    address: [{ address: '93.184.215.14', family: 4 }],
  });
  answer = '127.0.0.1';
  const refused = await one({ all: true });
  t.type(refused.error, TargetRefused);
  t.match(
    refused.error?.message,
    /rebind\.example\.com" resolves to 127\.0\.0\.1, a loopback address/,
  );

  // A real socket given this lookup never reaches the listener behind the refused address.
  const server = net.createServer((socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  let accepted = 0;
  server.on('connection', () => accepted++);
  const port = (server.address() as net.AddressInfo).port;
  const error = await new Promise<Error>((resolve) => {
    const socket = net.connect({ host: 'rebind.example.com', port, lookup: lookup as never });
    socket.once('error', resolve);
    socket.once('connect', () => resolve(new Error('connected')));
  });
  t.type(error, TargetRefused);
  t.equal(accepted, 0, 'no connection was made');
});

t.test('resolveAllowed: a literal address is checked without a lookup', async (t) => {
  await t.rejects(resolveAllowed('10.0.0.1', fixed({})), TargetRefused);
  t.same(await resolveAllowed('8.8.8.8', fixed({})), [{ address: '8.8.8.8', family: 4 }]);
});
