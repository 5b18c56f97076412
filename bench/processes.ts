// Child processes of the benchmark: the product's roles started through the compiled CLI
// (`node dist/src/cli/main.js <role>`, what the Docker image runs: production-shaped figures
// come from JavaScript, not a TypeScript loader), and the benchmark's own tools (the no-op server,
// the lag probe) through tsx. Every child is registered so that `stopAll` ends it (SIGTERM, then
// SIGKILL after a grace period) even when a section failed; each child also preloads
// parentGuard.mjs and stops itself if the benchmark dies.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
const GUARD = fileURLToPath(new URL('./parentGuard.mjs', import.meta.url));

export interface Child {
  readonly name: string;
  readonly pid: number;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string | null>;
  /** Resolves with the first output line (stdout or stderr) matching `pattern`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Calls `listener` with every output line from now on. */
  onLine(listener: (line: string) => void): void;
  /** The last output lines, for error messages. */
  tail(lines?: number): string;
  /** Resident set size now and its peak, in KiB, from /proc/<pid>/status. */
  memory(): Promise<{ rssKiB: number; peakKiB: number } | undefined>;
  stop(graceMs?: number): Promise<void>;
}

const running = new Set<Child>();

export interface StartOptions {
  readonly env?: Record<string, string>;
  /** Extra node flags (e.g. --cpu-prof). */
  readonly nodeFlags?: readonly string[];
}

export function startNodeProcess(
  name: string,
  script: string,
  args: readonly string[],
  { env = {}, nodeFlags = [] }: StartOptions = {},
): Child {
  const proc: ChildProcess = spawn(
    process.execPath,
    [
      ...(script.endsWith('.ts') ? ['--import', 'tsx'] : []),
      '--import',
      GUARD,
      ...nodeFlags,
      script,
      ...args,
    ],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  if (proc.pid === undefined) throw new Error(`${name} did not start`);
  const lines: string[] = [];
  const watchers = new Set<(line: string) => void>();
  let exitCode: number | string | null | undefined;
  const exited = new Promise<number | string | null>((resolve) =>
    proc.once('exit', (code, signal) => {
      exitCode = code ?? signal;
      resolve(exitCode);
    }),
  );
  // Both pipes are always drained: a child blocked on a full pipe would distort every figure.
  for (const stream of [proc.stdout, proc.stderr]) {
    let partial = '';
    stream?.on('data', (chunk: Buffer) => {
      partial += chunk.toString();
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        if (lines.length > 200) lines.shift();
        for (const watch of watchers) watch(line);
      }
    });
  }
  const child: Child = {
    name,
    pid: proc.pid,
    exited,
    waitFor(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        for (const line of lines) {
          const match = pattern.exec(line);
          if (match) return resolve(match);
        }
        const done = () => {
          clearTimeout(timer);
          watchers.delete(watch);
        };
        const watch = (line: string) => {
          const match = pattern.exec(line);
          if (match) {
            done();
            resolve(match);
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${name}: no ${pattern} within ${timeoutMs} ms\n${child.tail()}`));
        }, timeoutMs);
        watchers.add(watch);
        exited.then((code) => {
          if (!watchers.has(watch)) return;
          done();
          reject(new Error(`${name} exited (${code}) before ${pattern}\n${child.tail()}`));
        });
      });
    },
    onLine: (listener) => watchers.add(listener),
    tail: (n = 20) => lines.slice(-n).join('\n'),
    async memory() {
      const status = await readFile(`/proc/${proc.pid}/status`, 'utf8').catch(() => undefined);
      if (!status || exitCode !== undefined) return undefined;
      const kib = (field: string) =>
        Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
      return { rssKiB: kib('VmRSS'), peakKiB: kib('VmHWM') };
    },
    async stop(graceMs = 20_000) {
      if (exitCode === undefined) {
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      running.delete(child);
    },
  };
  running.add(child);
  return child;
}

/** A product role the way the image starts it: `node dist/src/cli/main.js <role>`. */
export function startRole(role: string, options: StartOptions = {}): Child {
  return startNodeProcess(role, CLI, [role], options);
}

/** Stops every child still running (in reverse start order), whatever happened before. */
export async function stopAll(): Promise<void> {
  for (const child of [...running].reverse()) await child.stop().catch(() => {});
}

export const runningChildren = (): readonly Child[] => [...running];
