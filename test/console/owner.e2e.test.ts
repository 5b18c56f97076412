// The console in a real browser (chromium), as an owner: sign in, make a wallet, deposit (a double
// click deposits once), a field error at its field, withdrawals that settle and one cancelled, all
// seen without reloading; a deposit made over HTTP appears live; another owner's wallet stays
// closed; readable at 375 px; signing out. Elements are found by role and accessible name.
import type { Page } from 'playwright-core';
import t, { type Test } from 'tap';
import { spawnTransactionService, startSchedulerRole } from '../../src/cli/runtime.ts';
import { loadConfig } from '../../src/infra/config.ts';
import { createLogger } from '../../src/infra/logger.ts';
import { launchBrowser, openConsole, screenshot, signIn } from '../support/browser.ts';
import { startStack } from '../support/stack.ts';

t.setTimeout(600_000);

const browser = await launchBrowser(t);
const stack = await startStack(t);
// A scheduler paying through the transaction-service (no failures: withdrawals succeed).
const bank = await spawnTransactionService(
  loadConfig({ TRANSACTION_SERVICE_PORT: '0' }),
  createLogger('test', 'warn'),
  { TRANSACTION_SERVICE_LATENCY_MS: '50', TRANSACTION_SERVICE_FAILURE_RATE: '0' },
);
t.teardown(() => bank.stop());
const scheduler = await startSchedulerRole(stack.runtime, bank.url as string);
t.teardown(() => scheduler.stop());

async function ownerKey(owner: string): Promise<string> {
  const made = await stack.http('POST', '/api/keys', { owner, name: `${owner}'s console` });
  if (made.status !== 201) throw new Error(made.text);
  return made.body.key;
}
const aliceKey = await ownerKey('alice');

/** A signed-in page on a new wallet of alice's; returns the wallet id. */
async function onNewWallet(t: Test, width?: number): Promise<{ page: Page; id: string }> {
  const page = await openConsole(t, browser, stack.baseUrl, width);
  await signIn(page, aliceKey);
  await page.getByLabel('Currency').selectOption('EUR');
  await page.getByRole('button', { name: 'New wallet' }).click();
  await page.getByRole('heading', { name: /^Wallet [0-9a-f]{8}$/ }).waitFor();
  const id = /#\/wallets\/([0-9a-f-]{36})$/.exec(page.url())?.[1] as string;
  await live(page);
  return { page, id };
}

const live = (page: Page) =>
  page
    .getByRole('status')
    .filter({ hasText: /^Live:/ })
    .waitFor();
const balance = (page: Page) => page.getByTestId('balance');
const untilBalance = (page: Page, text: string) =>
  balance(page)
    .filter({ hasText: new RegExp(`^${text.replace('.', '\\.')} EUR$`) })
    .waitFor();
const form = (page: Page, name: string) => page.getByRole('form', { name });
const events = async (id: string) =>
  (await stack.http('GET', `/api/wallets/${id}/history/`)).body.events.map(
    (e: { type: string }) => e.type,
  );

t.test('signing in: a wrong key is told clearly, the right one opens the wallets', async (t) => {
  const page = await openConsole(t, browser, stack.baseUrl);
  await page.getByRole('heading', { name: 'Wallet console' }).waitFor();
  // By keyboard only: the key field, typed, then Enter.
  await page.getByLabel('API key').focus();
  await page.keyboard.type('wlk_wrong-key');
  await page.keyboard.press('Enter');
  const refused = page.getByRole('alert');
  await refused.filter({ hasText: 'That API key was not accepted' }).waitFor();
  await screenshot(t, page, 'owner-01-sign-in-refused');
  t.equal(await page.getByLabel('API key').inputValue(), 'wlk_wrong-key', 'kept to correct it');

  await signIn(page, aliceKey);
  await page.getByRole('heading', { name: 'Wallets' }).waitFor();
  await page.getByText('Signed in as owner alice').waitFor();
  t.notOk(
    await page.content().then((html) => html.includes(aliceKey)),
    'the key is not in the page',
  );
  const cookies = await page.context().cookies();
  t.match(cookies, [{ name: 'wallet_session', httpOnly: true, sameSite: 'Strict' }]);
  t.ok((cookies[0]?.expires ?? -1) > Date.now() / 1000, 'the session cookie expires');
  t.equal(await page.evaluate('document.cookie'), '', 'the page cannot read the session cookie');
  await screenshot(t, page, 'owner-02-signed-in');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  await page.reload();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  t.pass('signed out stays signed out');
});

t.test('a new wallet; deposits; a double click deposits once; the audit trail', async (t) => {
  const { page, id } = await onNewWallet(t);
  await untilBalance(page, '0.00');
  const deposit = form(page, 'Deposit');
  await deposit.getByLabel('Amount').fill('25.50');
  await deposit.getByRole('button', { name: 'Deposit' }).click();
  await untilBalance(page, '25.50');
  t.same(await events(id), ['WalletCreated', 'Deposited']);

  await deposit.getByLabel('Amount').fill('10.00');
  await deposit.getByRole('button', { name: 'Deposit' }).dblclick();
  await untilBalance(page, '35.50');
  t.same(await events(id), ['WalletCreated', 'Deposited', 'Deposited'], 'deposited once');

  const audit = page.getByRole('region', {
    name: 'Every event of the wallet, with the balance after it',
  });
  await audit.getByRole('row').filter({ hasText: '35.50' }).waitFor();
  const rows = await audit.getByRole('row').allInnerTexts();
  t.match(
    rows[1],
    /^2\s.*Deposited\s+owner alice\s+amount 10\.00, depositId [0-9a-f]{8}…\s+35\.50$/s,
  );
  t.match(rows[3], /^0\s.*WalletCreated\s+owner alice/s);
  const chart = page.getByRole('img', { name: /^Balance over time: 3 changes/ });
  await chart.waitFor();
  t.match(await chart.getAttribute('aria-label'), /highest 35\.50 EUR, now 35\.50 EUR/);
  await screenshot(t, page, 'owner-03-deposits');
});

t.test('a field error appears at its field', async (t) => {
  const { page } = await onNewWallet(t);
  const deposit = form(page, 'Deposit');
  const amount = deposit.getByLabel('Amount');
  await amount.fill('-5.00');
  await deposit.getByRole('button', { name: 'Deposit' }).click();
  const message = deposit.getByText('Positive value required, got -5.00.');
  await message.waitFor();
  t.equal(await amount.getAttribute('aria-invalid'), 'true');
  const describedBy = (await amount.getAttribute('aria-describedby')) ?? '';
  t.ok(describedBy.split(' ').includes((await message.getAttribute('id')) as string), 'described');

  const withdraw = form(page, 'Withdraw');
  await withdraw.getByLabel('Amount').fill('1.00');
  await withdraw.getByRole('button', { name: 'Schedule withdrawal' }).click();
  await withdraw.getByText('This field is required.').waitFor();
  const scheduled = withdraw.getByLabel('Scheduled time');
  t.equal(await scheduled.getAttribute('aria-invalid'), 'true', 'at the scheduled time field');
  await screenshot(t, page, 'owner-04-field-errors');
});

t.test('a withdrawal 2 s ahead settles on screen; another is cancelled', async (t) => {
  const { page, id } = await onNewWallet(t);
  const deposit = form(page, 'Deposit');
  await deposit.getByLabel('Amount').fill('100.00');
  await deposit.getByRole('button', { name: 'Deposit' }).click();
  await untilBalance(page, '100.00');

  const withdraw = form(page, 'Withdraw');
  await withdraw.getByLabel('Amount').fill('30.00');
  await withdraw.getByLabel('Delay (seconds)').fill('2');
  await withdraw.getByRole('button', { name: 'Schedule withdrawal' }).click();
  const transactions = page.getByRole('region', { name: 'Transactions, newest first' });
  const withdrawal = transactions.getByRole('row').filter({ hasText: 'Withdrawal' });
  await withdrawal.filter({ hasText: 'PENDING' }).waitFor();
  await screenshot(t, page, 'owner-05-withdrawal-pending');
  // No reload: the wallet's event stream brings the outcome.
  await withdrawal.filter({ hasText: /SUCCESS|FAILED/ }).waitFor({ timeout: 60_000 });
  const ended = (await withdrawal.textContent()) ?? '';
  await untilBalance(page, ended.includes('SUCCESS') ? '70.00' : '100.00');
  await screenshot(t, page, 'owner-06-withdrawal-settled');

  await withdraw.getByLabel('Amount').fill('5.00');
  await withdraw.getByLabel('Delay (seconds)').fill('3600');
  await withdraw.getByRole('button', { name: 'Schedule withdrawal' }).click();
  const pending = transactions.getByRole('row').filter({ hasText: 'PENDING' });
  await pending.getByRole('button', { name: /^Cancel/ }).click();
  await transactions.getByRole('row').filter({ hasText: 'CANCELLED' }).waitFor();
  t.equal(await pending.count(), 0, 'nothing pending any more');
  t.match(await events(id), ['WalletCreated', 'Deposited', 'WithdrawalScheduled']);
  t.equal((await events(id)).at(-1), 'WithdrawalCancelled');
  await screenshot(t, page, 'owner-07-cancelled');

  // The filters narrow the list: withdrawals only, then the cancelled one only.
  const rows = transactions.getByRole('row');
  await page.getByLabel('Kind', { exact: true }).selectOption('withdrawal');
  await rows.filter({ hasText: 'Deposit' }).waitFor({ state: 'detached' });
  t.equal(await rows.filter({ hasText: 'Withdrawal' }).count(), 2, 'both withdrawals');
  await page.getByLabel('Status', { exact: true }).selectOption('CANCELLED');
  await rows.filter({ hasText: /SUCCESS|FAILED/ }).waitFor({ state: 'detached' });
  t.equal(await rows.filter({ hasText: 'Withdrawal' }).count(), 1, 'the cancelled one only');
  t.equal(await rows.filter({ hasText: 'CANCELLED' }).count(), 1);
});

t.test('a deposit made over HTTP appears live', async (t) => {
  const { page, id } = await onNewWallet(t);
  const made = await stack.http('PATCH', `/api/wallets/${id}/deposit/`, { amount: '12.34' });
  t.equal(made.status, 200);
  await untilBalance(page, '12.34');
  await page
    .getByRole('region', { name: 'Transactions, newest first' })
    .getByRole('row')
    .filter({ hasText: '12.34' })
    .waitFor();
  await screenshot(t, page, 'owner-08-live-deposit');
});

t.test('an owner cannot open another owner’s wallet', async (t) => {
  const bobs = await stack.http('POST', '/api/wallets/', { owner: 'bob' });
  const page = await openConsole(t, browser, stack.baseUrl);
  await signIn(page, aliceKey);
  await page.goto(`/console/#/wallets/${bobs.body.uuid}`);
  await page.getByRole('heading', { name: 'Wallet not found' }).waitFor();
  t.equal(await page.getByText(bobs.body.balance).count(), 0);
  await page.getByRole('link', { name: 'Back to the wallets' }).click();
  const list = page.getByRole('region', { name: 'Your wallets' });
  await list.getByRole('link').first().waitFor();
  t.ok((await list.getByRole('link').count()) > 0, 'alice’s own wallets are listed');
  t.notMatch((await list.textContent()) ?? '', bobs.body.uuid, 'not in alice’s list either');
  await screenshot(t, page, 'owner-09-not-found');
});

t.test('readable at 375 px: nothing wider than the screen but the scrolling tables', async (t) => {
  const { page } = await onNewWallet(t, 375);
  const deposit = form(page, 'Deposit');
  await deposit.getByLabel('Amount').fill('7.00');
  await deposit.getByRole('button', { name: 'Deposit' }).click();
  await untilBalance(page, '7.00');
  t.ok(
    await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth'),
    'no sideways scrolling of the page',
  );
  await screenshot(t, page, 'owner-10-narrow');
});
