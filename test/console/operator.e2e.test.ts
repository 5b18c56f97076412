// The console in a real browser (chromium), as an operator: every wallet with search, withdrawals
// by status with a PROCESSING one settled (after a confirmation, which can be declined), keys made
// and revoked, the projector's and scheduler's state, refused requests.
import type { Page } from 'playwright-core';
import t, { type Test } from 'tap';
import { createWalletCommandHandler } from '../../src/commands/walletCommandHandler.ts';
import { launchBrowser, openConsole, screenshot, signIn } from '../support/browser.ts';
import { httpClient, startStack } from '../support/stack.ts';

t.setTimeout(600_000);

const browser = await launchBrowser(t);
const stack = await startStack(t);

const events = async (id: string) =>
  (await stack.http('GET', `/api/wallets/${id}/history/`)).body.events.map(
    (e: { type: string }) => e.type,
  );

/**
 * A withdrawal whose payout outcome the third party cannot tell: it waits for an operator. The
 * scheduler's steps are taken here with the domain's own commands, an hour ahead (no scheduler
 * runs in this file, so nothing else claims it).
 */
async function awaitingSettlement(owner: string): Promise<{ wallet: string; withdrawal: string }> {
  const wallet = (await stack.http('POST', '/api/wallets/', { owner, currency: 'EUR' })).body.uuid;
  await stack.http('PATCH', `/api/wallets/${wallet}/deposit/`, { amount: '50.00' });
  const scheduled = await stack.http('POST', `/api/wallets/${wallet}/withdraw/`, {
    amount: '20.00',
    delay: 60,
  });
  const withdrawal = scheduled.body.outgoing_transactions[0].uuid as string;
  const commands = createWalletCommandHandler(stack.store, {
    clock: () => new Date(Date.now() + 3_600_000),
  });
  const policy = { maxAttempts: 3, retryBaseMs: 1000, recheckMs: 60_000 };
  await commands.handle(wallet, { type: 'StartWithdrawal', withdrawalId: withdrawal });
  await commands.handle(wallet, { type: 'RequestPayout', withdrawalId: withdrawal, attempt: 1 });
  await commands.handle(wallet, {
    type: 'RecordPayoutAnswer',
    withdrawalId: withdrawal,
    attempt: 1,
    answer: { kind: 'unknown', reason: 'The connection was lost mid-request.' },
    policy,
    jitter: 1,
  });
  await commands.handle(wallet, {
    type: 'RecordLookup',
    withdrawalId: withdrawal,
    result: 'unsupported',
    policy,
    jitter: 1,
  });
  return { wallet, withdrawal };
}

async function operatorPage(t: Test, width?: number): Promise<Page> {
  const page = await openConsole(t, browser, stack.baseUrl, width);
  await signIn(page, stack.operatorKey);
  await page.getByText(/^Signed in as operator/).waitFor();
  return page;
}
const nav = (page: Page, name: string) =>
  page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name }).click();

t.test('every wallet, searched by owner and by id', async (t) => {
  const carol = (await stack.http('POST', '/api/wallets/', { owner: 'carol' })).body.uuid;
  const dave = (await stack.http('POST', '/api/wallets/', { owner: 'dave' })).body.uuid;
  const page = await operatorPage(t);
  const all = page.getByRole('region', { name: 'All wallets' });
  await all.getByRole('link', { name: carol }).waitFor();
  await all.getByRole('link', { name: dave }).waitFor();

  await page.getByLabel('Search by wallet id or owner').fill('carol');
  await all.getByRole('link', { name: dave }).waitFor({ state: 'detached' });
  t.equal(await all.getByRole('link').count(), 1, 'carol’s only');
  await page.getByLabel('Search by wallet id or owner').fill(dave.slice(0, 8));
  await all.getByRole('link', { name: dave }).waitFor();
  t.equal(await all.getByRole('link').count(), 1, 'by id prefix');
  await screenshot(t, page, 'operator-01-wallets-search');
});

t.test('a PROCESSING withdrawal waiting for an operator, settled as paid', async (t) => {
  const { wallet, withdrawal } = await awaitingSettlement('frank');
  const page = await operatorPage(t);
  await nav(page, 'Withdrawals');
  await page.getByRole('heading', { name: 'Withdrawals' }).waitFor();
  t.equal(await page.getByLabel('Status').inputValue(), 'PROCESSING', 'PROCESSING first');
  const table = page.getByRole('region', { name: /^PROCESSING withdrawals/ });
  const row = table.getByRole('row').filter({ hasText: withdrawal.slice(0, 8) });
  await row.getByText('waits for an operator').waitFor();
  await screenshot(t, page, 'operator-02-awaiting-settlement');

  // Declined at the confirmation: nothing happens.
  page.once('dialog', (dialog) => void dialog.dismiss());
  await row.getByRole('button', { name: 'Settle as paid' }).click();
  t.equal((await events(wallet)).at(-1), 'WithdrawalAwaitingSettlement', 'declined: unchanged');

  let asked = '';
  page.once('dialog', (dialog) => {
    asked = dialog.message();
    void dialog.accept();
  });
  await row.getByRole('button', { name: 'Settle as paid' }).click();
  await page.getByRole('status').filter({ hasText: 'settled as paid' }).waitFor();
  t.match(asked, /^Settle withdrawal [0-9a-f]{8} of 20\.00 EUR as paid\?$/);
  t.equal((await events(wallet)).at(-1), 'WithdrawalSucceeded');
  await row.waitFor({ state: 'detached' });
  t.pass('no longer listed as PROCESSING');

  // The wallet's own page shows it settled, with the operator in the audit trail.
  await page.goto(`/console/#/wallets/${wallet}`);
  const transactions = page.getByRole('region', { name: 'Transactions, newest first' });
  await transactions
    .getByRole('row')
    .filter({ hasText: 'SUCCESS' })
    .filter({ hasText: '20.00' })
    .waitFor();
  await page
    .getByTestId('balance')
    .filter({ hasText: /^30\.00 EUR$/ })
    .waitFor();
  await screenshot(t, page, 'operator-03-settled');
});

t.test('keys: made (shown once) and revoked after a confirmation', async (t) => {
  const page = await operatorPage(t);
  await nav(page, 'Keys');
  const form = page.getByRole('form', { name: 'Make a key' });
  await form.getByLabel('Owner').fill('erin');
  await form.getByLabel('Name (optional)').fill('erin laptop');
  await form.getByRole('button', { name: 'Make key' }).click();
  const secret = page.getByRole('status').filter({ hasText: 'New key for erin' }).locator('code');
  await secret.waitFor();
  const key = (await secret.textContent()) ?? '';
  const erin = httpClient(stack.baseUrl, { authorization: `Bearer ${key}` });
  t.equal((await erin('GET', '/api/wallets/')).status, 200, 'the key shown works');
  await screenshot(t, page, 'operator-04-key-made');

  page.once('dialog', (dialog) => void dialog.accept());
  await page.getByRole('button', { name: 'Revoke key erin laptop' }).click();
  const told = page.getByRole('status').filter({ hasText: /revoked/i });
  await told.waitFor();
  t.match(await told.textContent(), /^Key [0-9a-f]{8} revoked\.$/);
  await page
    .getByRole('row')
    .filter({ hasText: 'erin laptop' })
    .getByText(/^revoked/)
    .waitFor();
  // Each API instance trusts a key lookup for at most its cache time: poll until refused.
  let status = 200;
  for (let i = 0; i < 100 && status === 200; i++) {
    status = (await erin('GET', '/api/wallets/')).status;
    if (status === 200) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.equal(status, 401, 'revoked');
  await screenshot(t, page, 'operator-05-key-revoked');
});

t.test('status and refused requests', async (t) => {
  const refused = await httpClient(stack.baseUrl, { authorization: 'Bearer wlk_guess' })(
    'GET',
    '/api/wallets/',
  );
  t.equal(refused.status, 401);
  const page = await operatorPage(t);
  await nav(page, 'Status');
  await page.getByText('Projector lag (age of that event when applied)').waitFor();
  await page.getByText('Scheduler backlog (withdrawals due now)').waitFor();
  await screenshot(t, page, 'operator-06-status');

  await nav(page, 'Refused requests');
  const log = page.getByRole('region', { name: 'Refused requests, newest first' });
  await log
    .getByRole('row')
    .filter({ hasText: 'invalid_token' })
    .filter({ hasText: '/api/wallets/' })
    .first()
    .waitFor();
  await screenshot(t, page, 'operator-07-refused');
});

t.test(
  'the operator views at 375 px: nothing wider than the screen but the scrolling tables',
  async (t) => {
    const page = await operatorPage(t, 375);
    for (const [link, heading] of [
      ['Withdrawals', 'Withdrawals'],
      ['Keys', 'Keys'],
      ['Status', 'Status'],
      ['Refused requests', 'Refused requests'],
      ['Wallets', 'Wallets'],
    ] as const) {
      await nav(page, link);
      await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
      t.ok(
        await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth'),
        `${heading}: no sideways scrolling of the page`,
      );
      await screenshot(t, page, `operator-08-narrow-${link.toLowerCase().replace(' ', '-')}`);
    }
  },
);
