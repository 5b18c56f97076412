import t from 'tap';
import { ConfigError, loadConfig } from '../../src/infra/config.ts';

t.test('PUBLIC_URL: an http(s) address for links, without its trailing slash', async (t) => {
  t.equal(loadConfig({}).publicUrl, undefined);
  t.equal(
    loadConfig({ PUBLIC_URL: 'https://wallets.example.com/' }).publicUrl,
    'https://wallets.example.com',
  );
  t.equal(
    loadConfig({ PUBLIC_URL: 'http://host:8080/ledger/' }).publicUrl,
    'http://host:8080/ledger',
  );
  for (const bad of ['wallets.example.com', 'ftp://x', 'https://x/?a=1', 'https://x/#y'])
    t.throws(() => loadConfig({ PUBLIC_URL: bad }), ConfigError, bad);
});
