// The one way the tests (and the benchmark) run a Node process of this project: spawned with its
// environment, its output captured, ready when it prints a line or answers on a URL, stopped with
// SIGTERM (then SIGKILL) when the test ends. Scripts start the way the product starts its own
// (`nodeScriptArgs`: the sources through tsx).
import { type ChildProcess, spawn } from 'node:child_process';
import { nodeScriptArgs } from '../../src/infra/nodeScript.ts';
import { pollUntil } from './poll.ts';

/** The node arguments that run a script of this project, named from the repository's root. */
export const nodeScript = (fromRoot: string): string[] =>
  nodeScriptArgs(`../../${fromRoot}`, import.meta.url);

export interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  /** Added to this process's environment (or to `baseEnv`). */
  readonly env?: Record<string, string>;
  /** The environment `env` is added to; default: this process's. */
  readonly baseEnv?: Record<string, string | undefined>;
  readonly cwd?: string;
  /** Stopped (SIGTERM, then SIGKILL) when this test ends, if it still runs. */
  readonly t?: Teardown;
  /** Keep only about this many characters of output (long runs); default: all of it. */
  readonly keepChars?: number;
}

export interface StartOptions extends SpawnOptions {
  /** Ready when a complete output line matches (a string: contains it), or the URL answers 2xx. */
  readonly ready: RegExp | string | { readonly url: string };
  /** Default 60 s. */
  readonly readyTimeoutMs?: number;
}

export interface NodeProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves once the process has exited. */
  readonly exited: Promise<ExitStatus>;
  /** Resolves once its output has ended too. */
  readonly closed: Promise<ExitStatus>;
  /** What it wrote so far: stdout and stderr as they came, or one of them. */
  output(stream?: 'stdout' | 'stderr'): string;
  /**
   * The first match of `pattern` in its complete output lines after the first `after` characters
   * (an earlier `output().length`), as soon as it is there; rejects if it exits or `timeoutMs`
   * (default 60 s) passes first.
   */
  waitForOutput(
    pattern: RegExp,
    options?: { after?: number; timeoutMs?: number },
  ): Promise<RegExpExecArray>;
  /** Calls `listener` with every complete output line from now on. */
  onLine(listener: (line: string) => void): void;
  /** The last output lines, for error messages. */
  tail(lines?: number): string;
  /** Sends `signal` (default SIGTERM), SIGKILL after `graceMs`; resolves with the exit code. */
  stop(options?: { signal?: NodeJS.Signals; graceMs?: number }): Promise<number | null>;
}

/** A Node process running `args` (node's arguments: flags, script, its arguments). */
export function spawnProcess(
  name: string,
  args: readonly string[],
  {
    env = {},
    baseEnv = process.env,
    cwd,
    t,
    keepChars = Number.POSITIVE_INFINITY,
  }: SpawnOptions = {},
): NodeProcess {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...baseEnv, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.on('error', () => {}); // a spawn failure shows as the exit status
  if (child.pid === undefined) throw new Error(`${name} did not start`);
  const text = { all: '', stdout: '', stderr: '' };
  let dropped = 0; // characters of `text.all` no longer kept
  const keep = (key: keyof typeof text, s: string) => {
    text[key] += s;
    if (text[key].length <= keepChars * 2) return;
    const cut = text[key].indexOf('\n', text[key].length - keepChars) + 1;
    text[key] = text[key].slice(cut);
    if (key === 'all') dropped += cut;
  };
  const listeners = new Set<(line: string) => void>();
  const checks = new Set<() => void>();
  const status = (event: 'exit' | 'close') =>
    new Promise<ExitStatus>((resolve) =>
      child.once(event, (code: number | null, signal: NodeJS.Signals | null) =>
        resolve({ code, signal }),
      ),
    );
  const exited = status('exit');
  const closed = status('close');
  let ended = false;
  void closed.then(() => {
    ended = true;
  });
  // Both pipes are always drained: a child blocked on a full pipe would stall (and distort figures).
  for (const stream of ['stdout', 'stderr'] as const) {
    let partial = '';
    child[stream].on('data', (chunk: Buffer) => {
      const s = chunk.toString();
      keep('all', s);
      keep(stream, s);
      partial += s;
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) for (const listener of listeners) listener(line);
      for (const check of checks) check();
    });
  }

  const proc: NodeProcess = {
    name,
    child,
    pid: child.pid,
    exited,
    closed,
    output: (stream) => (stream ? text[stream] : text.all),
    waitForOutput(pattern, { after = 0, timeoutMs = 60_000 } = {}) {
      const since = () => text.all.slice(Math.max(0, after - dropped));
      return new Promise((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          checks.delete(check);
        };
        // Complete lines only (a URL cut at the end of a chunk is not the URL); all of it at the end.
        const check = () => {
          const seen = since();
          const match = pattern.exec(ended ? seen : seen.slice(0, seen.lastIndexOf('\n') + 1));
          if (!match) return;
          done();
          resolve(match);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${name}: no ${pattern} in ${timeoutMs} ms:\n${since()}`));
        }, timeoutMs);
        checks.add(check);
        // The last output may come after 'exit' (grandchildren can hold the pipes: not long).
        void exited
          .then(() => Promise.race([closed, new Promise((r) => setTimeout(r, 200))]))
          .then(() => {
            if (!checks.has(check)) return;
            ended = true;
            check();
            if (!checks.has(check)) return;
            done();
            reject(new Error(`${name} exited before ${pattern}:\n${since()}`));
          });
        check();
      });
    },
    onLine: (listener) => listeners.add(listener),
    tail: (n = 20) => text.all.trimEnd().split('\n').slice(-n).join('\n'),
    async stop({ signal = 'SIGTERM', graceMs = 20_000 } = {}) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      return child.exitCode;
    },
  };
  t?.teardown(() => proc.stop());
  return proc;
}

/** A Node process, once it is ready; stopped (and the error thrown) if it never is. */
export async function startProcess(
  name: string,
  args: readonly string[],
  { ready, readyTimeoutMs = 60_000, ...options }: StartOptions,
): Promise<NodeProcess & { readonly readyMatch?: RegExpExecArray }> {
  const proc = spawnProcess(name, args, options);
  try {
    if (ready instanceof RegExp || typeof ready === 'string') {
      const pattern =
        typeof ready === 'string'
          ? new RegExp(ready.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
          : ready;
      const readyMatch = await proc.waitForOutput(pattern, { timeoutMs: readyTimeoutMs });
      return { ...proc, readyMatch };
    }
    await pollUntil(
      `${name} to answer on ${ready.url}`,
      async () => {
        if (proc.child.exitCode !== null || proc.child.signalCode !== null)
          throw new Error(`${name} exited before it was ready:\n${proc.output()}`);
        const response = await fetch(ready.url).catch(() => undefined);
        await response?.body?.cancel();
        return response?.ok ? true : undefined;
      },
      { timeoutMs: readyTimeoutMs },
    );
    return proc;
  } catch (error) {
    await proc.stop({ signal: 'SIGKILL' });
    throw error;
  }
}

/** Runs a Node process to its end: its exit code and what it wrote. */
export async function runProcess(
  name: string,
  args: readonly string[],
  options: SpawnOptions = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawnProcess(name, args, options);
  const { code } = await proc.closed;
  return { code, stdout: proc.output('stdout'), stderr: proc.output('stderr') };
}
