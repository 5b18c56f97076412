// The console with AUTH=off (the original's open API): nobody signs in, the console opens on the
// wallets, and its commands work without a session.
import t from 'tap';
import { launchBrowser, openConsole, screenshot } from '../support/browser.ts';
import { startStack } from '../support/stack.ts';

t.setTimeout(300_000);

t.test('AUTH=off: no sign-in, a wallet made and funded', async (t) => {
  const browser = await launchBrowser(t);
  const stack = await startStack(t, { env: { AUTH: 'off' } });
  const page = await openConsole(t, browser, stack.baseUrl);
  await page.getByText('Open access (AUTH=off): nobody signs in').waitFor();
  t.equal(
    await page.getByRole('button', { name: 'Sign out' }).count(),
    0,
    'nothing to sign out of',
  );
  t.equal(await page.getByRole('link', { name: 'Keys' }).count(), 0, 'no keys without AUTH');
  await page.getByRole('button', { name: 'New wallet' }).click();
  await page.getByRole('heading', { name: /^Wallet [0-9a-f]{8}$/ }).waitFor();
  const deposit = page.getByRole('form', { name: 'Deposit' });
  await deposit.getByLabel('Amount').fill('3.00');
  await deposit.getByRole('button', { name: 'Deposit' }).click();
  await page
    .getByTestId('balance')
    .filter({ hasText: /^3\.00 USD$/ })
    .waitFor();
  await screenshot(t, page, 'open-01-auth-off');
});
