// Where webhooks may be sent (SSRF): http and https only, and never to an address inside the
// service's own networks (loopback, private, link-local, unique-local, cloud metadata, and the
// ranges that embed or stand for them), unless WEBHOOK_ALLOW_PRIVATE_TARGETS allows it. Checked when
// an endpoint is registered and again on every connection: `safeLookup` resolves the name, checks
// every address and hands the checked addresses to the socket, so a name that changes its answer
// between the check and the connection (DNS rebinding) cannot slip through.
import type { LookupAddress, LookupAllOptions, LookupOneOptions } from 'node:dns';
import { lookup as dnsLookup } from 'node:dns';
import { BlockList, isIP } from 'node:net';

/** A range refused as a webhook target, and what it is (named in the refusal). */
const REFUSED: readonly [range: string, what: string][] = [
  ['0.0.0.0/8', 'an unspecified ("this network") address'],
  ['10.0.0.0/8', 'a private address'],
  ['100.64.0.0/10', 'a shared (carrier-grade NAT) address'],
  ['127.0.0.0/8', 'a loopback address'],
  ['169.254.0.0/16', 'a link-local or cloud metadata address'],
  ['172.16.0.0/12', 'a private address'],
  ['192.0.0.0/24', 'an IETF protocol address'],
  ['192.0.2.0/24', 'a documentation address'],
  ['192.168.0.0/16', 'a private address'],
  ['198.18.0.0/15', 'a benchmarking address'],
  ['198.51.100.0/24', 'a documentation address'],
  ['203.0.113.0/24', 'a documentation address'],
  ['224.0.0.0/4', 'a multicast address'],
  ['240.0.0.0/4', 'a reserved address'],
  ['::/128', 'an unspecified address'],
  ['::1/128', 'a loopback address'],
  ['64:ff9b:1::/48', 'a local NAT64 address'],
  ['100::/64', 'a discard address'],
  ['2001::/32', 'a Teredo address'],
  ['2001:db8::/32', 'a documentation address'],
  ['2002::/16', 'a 6to4 address'],
  ['fc00::/7', 'a unique-local address (this includes the fd00:ec2::254 metadata service)'],
  ['fe80::/10', 'a link-local address'],
  ['fec0::/10', 'a site-local address'],
  ['ff00::/8', 'a multicast address'],
];

const RANGES = REFUSED.map(([range, what]) => {
  const [address = '', prefix = ''] = range.split('/');
  const list = new BlockList();
  const family = isIP(address) === 4 ? 'ipv4' : 'ipv6';
  list.addSubnet(address, Number(prefix), family);
  return { list, what };
});

/** The IPv4 address an IPv6 NAT64 (64:ff9b::/96) address stands for, if it is one. */
function nat64Target(address: string): string | undefined {
  const match = /^64:ff9b::(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/i.exec(
    address,
  );
  if (!match) return undefined;
  if (match[1]) return match[1];
  const high = Number.parseInt(match[2] as string, 16);
  const low = Number.parseInt(match[3] as string, 16);
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

/**
 * Why `address` (an IP address) may not be a webhook target, or undefined when it may. IPv4-mapped
 * IPv6 addresses (::ffff:127.0.0.1) count as the IPv4 address they hold (BlockList matches them).
 */
export function refusedAddress(address: string): string | undefined {
  const bare = address.replace(/^\[|\]$/g, '').split('%')[0] ?? '';
  const version = isIP(bare);
  if (version === 0) return 'not an IP address';
  const embedded = version === 6 ? nat64Target(bare.toLowerCase()) : undefined;
  if (embedded) return refusedAddress(embedded);
  const family = version === 4 ? 'ipv4' : 'ipv6';
  return RANGES.find(({ list }) => list.check(bare, family))?.what;
}

/** A name resolved to every address it has (node's `dns.lookup` with `all: true`, or a stand-in). */
export type Resolve = (hostname: string) => Promise<readonly LookupAddress[]>;

export const systemResolve: Resolve = (hostname) =>
  new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses) =>
      error ? reject(error) : resolve(addresses),
    ),
  );

/** A target refused: the message says which host, which address and why. */
export class TargetRefused extends Error {
  override readonly name = 'TargetRefused';
  readonly code = 'EWEBHOOKTARGET';
}

const REFUSAL_TAIL =
  ': webhooks may not target loopback, private, link-local or metadata addresses.';

/** Throws TargetRefused when any address `hostname` resolves to is refused. */
export async function resolveAllowed(
  hostname: string,
  resolve: Resolve,
): Promise<readonly LookupAddress[]> {
  const literal = hostname.replace(/^\[|\]$/g, '');
  if (isIP(literal) !== 0) {
    const why = refusedAddress(literal);
    if (why) throw new TargetRefused(`The host ${literal} is ${why}${REFUSAL_TAIL}`);
    return [{ address: literal, family: isIP(literal) }];
  }
  const addresses = await resolve(literal);
  for (const { address } of addresses) {
    const why = refusedAddress(address);
    if (why)
      throw new TargetRefused(
        `The host "${literal}" resolves to ${address}, ${why}${REFUSAL_TAIL}`,
      );
  }
  if (addresses.length === 0) throw new TargetRefused(`The host "${literal}" does not resolve.`);
  return addresses;
}

export interface TargetPolicy {
  /** WEBHOOK_ALLOW_PRIVATE_TARGETS: every address allowed (tests, local development). */
  readonly allowPrivate: boolean;
  readonly resolve?: Resolve;
  /** How long name resolution may take at registration. */
  readonly resolveTimeoutMs?: number;
}

/**
 * A registration's URL, checked: the problem to show the client (the `url` field's message), or
 * the URL. The host is resolved now; `safeLookup` checks it again on every connection.
 */
export async function checkTargetUrl(
  text: string,
  policy: TargetPolicy,
): Promise<{ url: URL } | { problem: string }> {
  const scheme = /^([a-z][a-z\d+.-]*):/i.exec(text)?.[1]?.toLowerCase();
  if (scheme && scheme !== 'http' && scheme !== 'https') {
    return { problem: `Only http and https URLs are allowed, got "${scheme.slice(0, 20)}".` };
  }
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (!url?.hostname || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    return { problem: 'Enter a valid URL.' };
  }
  if (policy.allowPrivate) return { url };
  const timeoutMs = policy.resolveTimeoutMs ?? 5000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      resolveAllowed(url.hostname, policy.resolve ?? systemResolve),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new TargetRefused(`The host "${url.hostname}" did not resolve in time.`)),
          timeoutMs,
        );
      }),
    ]);
    return { url };
  } catch (error) {
    if (error instanceof TargetRefused) return { problem: error.message };
    return { problem: `The host "${url.hostname}" does not resolve.` };
  } finally {
    clearTimeout(timer);
  }
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `lookup` for sockets (net.connect, tls.connect, an undici connector): resolves with
 * `resolve`, refuses the connection when any address is refused, and otherwise connects to the
 * very addresses it checked.
 */
export function safeLookup(resolve: Resolve = systemResolve) {
  return (
    hostname: string,
    options: LookupOneOptions | LookupAllOptions | number,
    callback: LookupCallback,
  ): void => {
    const all = typeof options === 'object' && options.all === true;
    resolveAllowed(hostname, resolve).then(
      (addresses) => {
        const family = typeof options === 'object' ? options.family : options;
        const wanted =
          family === 4 || family === 6 ? addresses.filter((a) => a.family === family) : addresses;
        const list = wanted.length > 0 ? wanted : addresses;
        if (all) callback(null, [...list]);
        else callback(null, list[0]?.address ?? '', list[0]?.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, all ? [] : ''),
    );
  };
}
