// The transaction service as a real process: configured by environment, ready line on stdout,
// serves the original protocol, and SIGTERM ends it with exit code 0. With a database its books
// survive a SIGKILL; without one its ready line says they are in memory.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { request } from 'undici';
import { createTestDatabase, databaseToCreate } from '../support/database.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

function startProcess(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'transaction-service/main.ts'], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return { child, exited, output: () => ({ stdout, stderr }) };
}

/** Resolves with the URL from the ready line; rejects if the process exits or takes too long. */
function waitForReady(child: ChildProcess, output: () => { stdout: string; stderr: string }) {
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready: ${output().stderr}`)), 30_000);
    const check = () => {
      const match = /transaction-service listening at (http:\/\/\S+)/.exec(output().stdout);
      if (!match?.[1]) return;
      clearTimeout(timer);
      resolve(match[1]);
    };
    child.stdout?.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before ready: ${output().stderr}`));
    });
  });
}

t.test('runs as its own process and stops cleanly on SIGTERM', async (t) => {
  const { child, exited, output } = startProcess({
    TRANSACTION_SERVICE_PORT: '0',
    TRANSACTION_SERVICE_LATENCY_MS: '20',
    TRANSACTION_SERVICE_FAILURE_RATE: '0',
    TRANSACTION_SERVICE_FAULTS: '[{"mode":"http500","times":1}]',
  });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const base = await waitForReady(child, output);
  t.match(base, /^http:\/\/127\.0\.0\.1:\d+$/, 'the ready line names its URL');
  t.equal(output().stdout.trim().split('\n').length, 1, 'one line when ready');
  t.match(
    output().stdout,
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

  child.kill('SIGTERM');
  const [code, signal] = await exited;
  t.equal(code, 0, 'exit code 0');
  t.equal(signal, null, 'exited by itself, not killed by the signal');
  t.equal(output().stderr, '', 'nothing on stderr');
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
    const { exited, output } = startProcess({ TRANSACTION_SERVICE_PORT: '0', ...env });
    const [code] = await exited;
    t.equal(code, 1);
    t.match(output().stderr, message);
    t.notMatch(output().stderr, /\n\s+at /, 'no stack trace');
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

  const first = startProcess(env);
  t.teardown(() => {
    if (first.child.exitCode === null && first.child.signalCode === null)
      first.child.kill('SIGKILL');
  });
  const firstBase = await waitForReady(first.child, first.output);
  t.match(first.output().stdout, new RegExp(`\\(books in PostgreSQL, database ${name} on `));
  t.same(await pay(firstBase), { text: '{"data":"success","status":200}', replayed: undefined });
  first.child.kill('SIGKILL');
  await first.exited;

  const second = startProcess(env);
  t.teardown(() => {
    if (second.child.exitCode === null && second.child.signalCode === null)
      second.child.kill('SIGTERM');
  });
  const base = await waitForReady(second.child, second.output);
  const lookup = await request(`${base}/transfers/e2e-durable`);
  t.equal(lookup.statusCode, 200, 'the restarted service finds the payout');
  t.match(await lookup.body.json(), { status: 'paid', amount: '25.00', attempts: 1 });
  t.same(await pay(base), { text: '{"data":"success","status":200}', replayed: 'true' });
  const listed = (await (await request(`${base}/transfers`)).body.json()) as { count: number };
  t.equal(listed.count, 1, 'paid once');
  second.child.kill('SIGTERM');
  t.equal((await second.exited)[0], 0);
  t.equal(second.output().stderr, '', 'nothing on stderr');
});
