// The transaction service as a real process: configured by environment, ready line on stdout,
// serves the original protocol, and SIGTERM ends it with exit code 0. With a database its books
// survive a SIGKILL; without one its ready line says they are in memory.
import t from 'tap';
import { request } from 'undici';
import { READY_LINES } from '../support/cli.ts';
import { createTestDatabase, databaseToCreate } from '../support/database.ts';
import { nodeScript, spawnProcess, startProcess, type Teardown } from '../support/process.ts';

const MAIN = nodeScript('transaction-service/main.ts');

/** The transaction-service process, once it printed its ready line; its URL from that line. */
async function startBank(t: Teardown, env: Record<string, string>) {
  const bank = await startProcess('transaction-service', MAIN, {
    t,
    env,
    ready: READY_LINES.transactionService,
  });
  return { ...bank, url: bank.readyMatch?.[1] as string };
}

t.test('runs as its own process and stops cleanly on SIGTERM', async (t) => {
  const bank = await startBank(t, {
    TRANSACTION_SERVICE_PORT: '0',
    TRANSACTION_SERVICE_LATENCY_MS: '20',
    TRANSACTION_SERVICE_FAILURE_RATE: '0',
    TRANSACTION_SERVICE_FAULTS: '[{"mode":"http500","times":1}]',
  });
  const base = bank.url;
  t.match(base, /^http:\/\/127\.0\.0\.1:\d+$/, 'the ready line names its URL');
  t.equal(bank.output('stdout').trim().split('\n').length, 1, 'one line when ready');
  t.match(
    bank.output('stdout'),
    /\(books in memory: a restart forgets them; set TRANSACTION_SERVICE_DATABASE_URL to keep them\)/,
    'it says plainly that its books are in memory',
  );

  const post = async () => {
    const res = await request(`${base}/`, {
      method: 'POST',
      headers: { 'idempotency-key': 'e2e-1', 'content-type': 'application/json' },
      body: '{"amount":"25.00"}',
    });
    return { status: res.statusCode, text: await res.body.text() };
  };
  t.equal((await post()).status, 500, 'the rule from TRANSACTION_SERVICE_FAULTS applies once');
  t.same(await post(), { status: 200, text: '{"data":"success","status":200}' });
  const lookup = await request(`${base}/transfers/e2e-1`);
  t.match(await lookup.body.json(), { key: 'e2e-1', status: 'paid', amount: '25.00', attempts: 2 });

  bank.child.kill('SIGTERM');
  const { code, signal } = await bank.closed;
  t.equal(code, 0, 'exit code 0');
  t.equal(signal, null, 'exited by itself, not killed by the signal');
  t.equal(bank.output('stderr'), '', 'nothing on stderr');
});

t.test('bad configuration or unreachable books: a message and exit code 1', async (t) => {
  const cases: [Record<string, string>, RegExp][] = [
    [
      { TRANSACTION_SERVICE_FAULTS: '[{"mode":"explode"}]' },
      /^transaction-service: invalid fault settings/,
    ],
    [
      { TRANSACTION_SERVICE_DATABASE_URL: 'postgres://nobody:wrong@127.0.0.1:9/books' },
      /^transaction-service: cannot open its books in PostgreSQL: /,
    ],
  ];
  for (const [env, message] of cases) {
    const bank = spawnProcess('transaction-service', MAIN, {
      t,
      env: { TRANSACTION_SERVICE_PORT: '0', ...env },
    });
    const { code } = await bank.closed;
    t.equal(code, 1);
    t.match(bank.output('stderr'), message);
    t.notMatch(bank.output('stderr'), /\n\s+at /, 'no stack trace');
  }
});

t.test('books in PostgreSQL: the database is created, and a SIGKILL forgets nothing', async (t) => {
  const booksUrl = databaseToCreate(t, await createTestDatabase(t, 1), 'books');
  const name = new URL(booksUrl).pathname.slice(1);
  const env = {
    TRANSACTION_SERVICE_PORT: '0',
    TRANSACTION_SERVICE_LATENCY_MS: '20',
    TRANSACTION_SERVICE_FAILURE_RATE: '0',
    TRANSACTION_SERVICE_DATABASE_URL: booksUrl,
  };
  const pay = async (base: string) => {
    const res = await request(`${base}/`, {
      method: 'POST',
      headers: { 'idempotency-key': 'e2e-durable', 'content-type': 'application/json' },
      body: '{"amount":"25.00"}',
    });
    return { text: await res.body.text(), replayed: res.headers['idempotent-replayed'] };
  };

  const first = await startBank(t, env);
  t.match(first.output('stdout'), new RegExp(`\\(books in PostgreSQL, database ${name} on `));
  t.same(await pay(first.url), { text: '{"data":"success","status":200}', replayed: undefined });
  await first.stop({ signal: 'SIGKILL' });

  const second = await startBank(t, env);
  const base = second.url;
  const lookup = await request(`${base}/transfers/e2e-durable`);
  t.equal(lookup.statusCode, 200, 'the restarted service finds the payout');
  t.match(await lookup.body.json(), { status: 'paid', amount: '25.00', attempts: 1 });
  t.same(await pay(base), { text: '{"data":"success","status":200}', replayed: 'true' });
  const listed = (await (await request(`${base}/transfers`)).body.json()) as { count: number };
  t.equal(listed.count, 1, 'paid once');
  t.equal(await second.stop(), 0);
  await second.closed;
  t.equal(second.output('stderr'), '', 'nothing on stderr');
});
