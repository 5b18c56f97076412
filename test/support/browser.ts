// A real browser for the console's tests: Debian's chromium (CHROMIUM_PATH, default
// /usr/bin/chromium) driven by playwright-core, one browser per test file and a fresh context (own
// cookies) per user. Every test saves screenshots to test-results/screenshots/ (git-ignored), to
// be looked at. Waits are by role and accessible name with generous timeouts: the tests run on
// slow 2-core machines. DEBUG_CONSOLE=1 prints the pages' requests, answers, dialogs and console.
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import type { Test } from 'tap';

export const SCREENSHOTS = fileURLToPath(
  new URL('../../test-results/screenshots/', import.meta.url),
);

/** How long to wait for anything the page shows (a slow, shared machine). */
export const WAIT_MS = 30_000;

export async function launchBrowser(t: Test): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    // As root (CI) chromium refuses its sandbox; the pages are our own.
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
  t.teardown(() => browser.close());
  mkdirSync(SCREENSHOTS, { recursive: true });
  return browser;
}

/** A page of its own (own cookies) at `width` px, at the console of `baseUrl`. */
export async function openConsole(
  t: Test,
  browser: Browser,
  baseUrl: string,
  width = 1100,
): Promise<Page> {
  const context = await browser.newContext({ viewport: { width, height: 900 }, baseURL: baseUrl });
  context.setDefaultTimeout(WAIT_MS);
  t.teardown(() => context.close());
  const page = await context.newPage();
  const problems: string[] = [];
  // A refused script, style or connection (the content policy) or an uncaught error fails the test.
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  if (process.env.DEBUG_CONSOLE) {
    page.on('request', (r) => console.error('[page] request', r.method(), r.url()));
    page.on('dialog', (d) => console.error('[page] dialog', d.message()));
    page.on('response', (r) => console.error('[page] response', r.status(), r.url()));
    page.on('requestfailed', (r) =>
      console.error('[page] failed', r.url(), r.failure()?.errorText),
    );
  }
  page.on('console', (message) => {
    if (process.env.DEBUG_CONSOLE) console.error('[page]', message.type(), message.text());
    const text = message.text();
    if (message.type() === 'error' && /Content Security Policy|Refused to|^Unhandled:/.test(text)) {
      problems.push(text);
    }
  });
  pageProblems.set(page, problems);
  await page.goto('/console/');
  return page;
}

const pageProblems = new WeakMap<Page, string[]>();

/** Saves the whole page as `name`.png, and checks that nothing went wrong in it so far. */
export async function screenshot(t: Test, page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: true });
  t.same(pageProblems.get(page), [], 'no script errors, nothing the content policy refused');
}

/** Signs in through the form, as a person does. */
export async function signIn(page: Page, key: string): Promise<void> {
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}
