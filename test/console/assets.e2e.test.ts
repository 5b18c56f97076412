// The console's files over real HTTP: the page, its modules and the vendored Preact and htm, each
// with the console's content policy; nothing else is served from /console/.
import t from 'tap';
import { CONSOLE_CSP } from '../../src/console/plugin.ts';
import { httpClient, startStack } from '../support/stack.ts';

t.test('console files', async (t) => {
  const stack = await startStack(t);
  const get = httpClient(stack.baseUrl);

  const bare = await get('GET', '/console');
  t.equal(bare.status, 301);
  t.equal(bare.headers.location, 'console/', 'the relative links need the slash');
  t.equal(new URL('console/', `${stack.baseUrl}/console`).pathname, '/console/');

  const page = await get('GET', '/console/');
  t.equal(page.status, 200);
  t.match(page.headers['content-type'], /^text\/html/);
  t.equal(page.headers['content-security-policy'], CONSOLE_CSP);
  t.match(CONSOLE_CSP, /^default-src 'self';/);
  t.match(page.text, '<script type="module" src="app.js"></script>');
  t.notMatch(
    page.text,
    /<script>|<style>|\sstyle=|https?:\/\/(?!www\.w3\.org)/,
    'nothing inline or remote',
  );

  for (const file of [
    'app.js',
    'api.js',
    'ui.js',
    'wallets.js',
    'operator.js',
    'chart.js',
    'live.js',
  ]) {
    const module = await get('GET', `/console/${file}`);
    t.equal(module.status, 200, file);
    t.match(module.headers['content-type'], /^text\/javascript/, file);
    t.notMatch(module.text, /from\s*['"](?!\.\/)/, `${file}: only relative imports`);
  }
  const hooks = await get('GET', '/console/vendor/hooks.js');
  t.match(hooks.text, 'from"./preact.js"', 'the hooks import the Preact served beside them');
  t.notMatch(hooks.text, 'from"preact"');
  for (const file of ['vendor/preact.js', 'vendor/htm.js', 'style.css']) {
    t.equal((await get('GET', `/console/${file}`)).status, 200, file);
  }

  for (const path of [
    '/console/plugin.ts',
    '/console/../package.json',
    '/console/vendor/',
    '/console/nope.js',
  ]) {
    const missing = await get('GET', path);
    t.equal(missing.status, 404, path);
  }
  t.notMatch((await get('GET', '/console/%2e%2e/package.json')).text, '"dependencies"');
});
