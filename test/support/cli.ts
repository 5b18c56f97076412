// Runs the CLI as a real subprocess, the way an operator would.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
      env: { ...process.env, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Starts the service (`start`, or another role) as a real process; resolves once it logs that it
 * listens (or `ready`). It gets the test run's environment without the run's database, event store
 * or payout service, with AUTH=off (its callers send no keys) unless `env` says otherwise, plus
 * `env`.
 */
export async function startService(
  env: Record<string, string>,
  {
    command = 'start',
    cwd,
    ready = 'wallet ledger listening on',
  }: { command?: string; cwd?: string; ready?: string } = {},
): Promise<{ child: ChildProcess; output: () => string }> {
  const inherited: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (
      v !== undefined &&
      !/^(TEST_)?DATABASE_URL$|^DATA_DIR$|^EVENTSTORE_URL$|^TRANSACTION_SERVICE_/.test(k)
    )
      inherited[k] = v;
  }
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, command], {
    cwd,
    env: { ...inherited, AUTH: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line in 60 s:\n${output}`)), 60_000);
    child.stdout?.on('data', () => {
      if (output.includes(ready)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}:\n${output}`));
    });
  });
  return { child, output: () => output };
}

/** SIGTERM, and the exit code once it has stopped. */
export function stopService(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

/**
 * The first match of `pattern` in the service's output after the first `after` characters, as soon
 * as it is there; rejects when the process exits or `timeoutMs` passes first.
 */
export function waitForOutput(
  service: { child: ChildProcess; output: () => string },
  pattern: RegExp,
  { after = 0, timeoutMs = 60_000 }: { after?: number; timeoutMs?: number } = {},
): Promise<RegExpExecArray> {
  const { child, output } = service;
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      child.stdout?.off('data', check);
      child.stderr?.off('data', check);
      child.off('exit', exited);
    };
    const check = () => {
      const match = pattern.exec(output().slice(after));
      if (!match) return;
      done();
      resolve(match);
    };
    const exited = () => {
      // The last output may arrive after 'exit'; look once more.
      setImmediate(() => {
        check();
        done();
        reject(new Error(`exited before ${pattern}:\n${output().slice(after)}`));
      });
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`no ${pattern} in ${timeoutMs} ms:\n${output().slice(after)}`));
    }, timeoutMs);
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    child.once('exit', exited);
    check();
  });
}
