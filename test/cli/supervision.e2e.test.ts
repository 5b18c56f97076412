// `npm start` as a real process whose transaction-service child is SIGKILLed: the log names the role
// and its exit signal at error level, the child comes back on the same URL with its books (in the
// database `npm start` created for it), the scheduler pays through it again, and after three
// restarts in a row the service gives up, names the role and exits with 1.
import path from 'node:path';
import t from 'tap';
import { findFreePort } from '../../src/infra/ports.ts';
import { startService, stopService, waitForOutput } from '../support/cli.ts';
import { pollUntil } from '../support/poll.ts';
import { type Http, httpClient } from '../support/stack.ts';
import { tempDir } from '../support/tempDir.ts';

const READY =
  /"msg":"transaction-service \(third-party stand-in, pid (\d+)\) listening at (\S+) \(books in ([^)]*)\)"/;

/** A withdrawal due in a second, and its status once it has ended. */
async function withdrawal(http: Http, wallet: string): Promise<string> {
  const scheduled = await http('POST', `/api/wallets/${wallet}/withdraw/`, {
    amount: '10.00',
    delay: 1,
  });
  if (scheduled.status !== 201) throw new Error(`withdraw: ${scheduled.status} ${scheduled.text}`);
  const id = scheduled.body.outgoing_transactions.at(-1).uuid;
  return pollUntil(`withdrawal ${id} to end`, async () => {
    const read = await http('GET', `/api/wallets/${wallet}/`);
    const status = read.body.outgoing_transactions.find((w: { uuid: string }) => w.uuid === id)
      ?.status as string | undefined;
    return status === 'SUCCESS' || status === 'FAILED' ? status : undefined;
  });
}

t.test('a killed transaction-service child is restarted, then given up on', async (t) => {
  const base = await tempDir(t, 'wallet-supervise-');
  const port = await findFreePort();
  const service = await startService({
    DATA_DIR: path.join(base, 'data'),
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    TRANSACTION_SERVICE_PORT: '0',
    TRANSACTION_SERVICE_LATENCY_MS: '50',
    TRANSACTION_SERVICE_FAILURE_RATE: '0',
  });
  t.teardown(() => stopService(service.child));
  const exited = new Promise<number | null>((resolve) => service.child.once('exit', resolve));
  const http = httpClient(`http://127.0.0.1:${port}`);

  const [, firstPid, url, books] = await waitForOutput(service, READY);
  t.match(books, /^PostgreSQL, database transaction_service on 127\.0\.0\.1:\d+$/, 'its books');
  const bank = httpClient(url as string);
  const wallet = (await http('POST', '/api/wallets/', {})).body.uuid as string;
  await http('PATCH', `/api/wallets/${wallet}/deposit/`, { amount: '100.00' });
  t.equal(await withdrawal(http, wallet), 'SUCCESS', 'paid before the kill');

  let after = service.output().length;
  process.kill(Number(firstPid), 'SIGKILL');
  const [crashLine] = await waitForOutput(service, /^.*ended unexpectedly.*$/m, { after });
  const crash = JSON.parse(crashLine);
  t.match(crash, {
    level: 50,
    msg: `transaction-service (pid ${firstPid}) ended unexpectedly: signal SIGKILL; restarting in 1 s (restart 1 of 3)`,
    role: 'transaction-service',
    pid: Number(firstPid),
    code: null,
    signal: 'SIGKILL',
  });
  const [, secondPid, secondUrl] = await waitForOutput(service, READY, { after });
  t.not(secondPid, firstPid, 'a new process');
  t.equal(secondUrl, url, 'on the same URL, so the scheduler finds it');
  t.equal((await bank('GET', '/transfers')).body.count, 1, 'its books kept the first payout');

  t.equal(await withdrawal(http, wallet), 'SUCCESS', 'the scheduler pays through it again');
  t.equal((await bank('GET', '/transfers')).body.count, 2);
  t.equal((await http('GET', `/api/wallets/${wallet}/`)).body.balance, '80.00');

  // Three more crashes in a row: restarted after 2 s and 4 s, then given up.
  let pid = secondPid;
  for (let crashes = 2; crashes <= 4; crashes++) {
    after = service.output().length;
    process.kill(Number(pid), 'SIGKILL');
    if (crashes < 4) [, pid] = await waitForOutput(service, READY, { after });
  }
  t.equal(await exited, 1, 'the service exits with 1');
  const log = service.output().slice(after);
  t.match(log, `"level":50,"time":`, 'at error level');
  t.match(
    log,
    `"msg":"transaction-service (pid ${pid}) ended unexpectedly: signal SIGKILL; giving up after 3 restarts"`,
  );
  t.match(
    log,
    '"msg":"stopping: the transaction-service role ended unexpectedly: signal SIGKILL, after 3 restarts"',
  );
});
