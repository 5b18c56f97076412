// The transaction service as a real process: configured by environment, ready line on stdout,
// serves the original protocol, and SIGTERM ends it with exit code 0.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { request } from 'undici';

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

t.test('bad configuration: a message and exit code 1', async (t) => {
  const { exited, output } = startProcess({
    TRANSACTION_SERVICE_PORT: '0',
    TRANSACTION_SERVICE_FAULTS: '[{"mode":"explode"}]',
  });
  const [code] = await exited;
  t.equal(code, 1);
  t.match(output().stderr, /^transaction-service: invalid fault settings/);
  t.notMatch(output().stderr, /\n\s+at /, 'no stack trace');
});
