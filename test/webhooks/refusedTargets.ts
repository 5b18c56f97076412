// Target URLs refused without asking any resolver, and what the refusal says: the unit test of
// targets.ts and the API test (registration answers 400 with the same text) share the table.
import type { Test } from 'tap';

/** The URL, and the refusal's whole text or a pattern of it. */
export const REFUSED_TARGETS: readonly (readonly [string, string | RegExp])[] = [
  ['ftp://example.com/hooks', 'Only http and https URLs are allowed, got "ftp".'],
  ['ftp://', 'Only http and https URLs are allowed, got "ftp".'],
  ['javascript:alert(1)', 'Only http and https URLs are allowed, got "javascript".'],
  ['not a url', 'Enter a valid URL.'],
  ['http://', 'Enter a valid URL.'],
  [
    'http://127.0.0.1/',
    'The host 127.0.0.1 is a loopback address: webhooks may not target loopback, private, link-local or metadata addresses.',
  ],
  [
    'http://169.254.169.254/latest/meta-data/',
    /169\.254\.169\.254 is a link-local or cloud metadata address/,
  ],
  ['http://[::1]:3000/', /::1 is a loopback address/],
  ['http://[fd00:ec2::254]/', /fd00:ec2::254 is a unique-local address/],
  ['http://10.0.0.8:8080/', /10\.0\.0\.8 is a private address/],
  // A number for a host is an address.
  ['http://2130706433/', /127\.0\.0\.1 is a loopback/],
  ['http://0x7f.1/', /127\.0\.0\.1 is a loopback/],
];

/** Checks one refusal against its row: the same text, or matching the pattern. */
export function assertRefusal(
  t: Test,
  [url, expected]: readonly [string, string | RegExp],
  message: string | undefined,
): void {
  if (typeof expected === 'string') t.equal(message, expected, url);
  else t.match(message, expected, url);
}
