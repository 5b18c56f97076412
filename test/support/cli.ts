// Runs the CLI as a real subprocess, the way an operator would (through test/support/process.ts):
// a command to its end, the service, or one role with its readiness.
import type { ChildProcess } from 'node:child_process';
import {
  type NodeProcess,
  nodeScript,
  runProcess,
  type StartOptions,
  startProcess,
  type Teardown,
} from './process.ts';

/** `main.ts <args>` from the sources: what `npm run cli -- <args>` runs. */
export const cliArgs = (args: readonly string[]): string[] => [
  ...nodeScript('src/cli/main.ts'),
  ...args,
];

export function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runProcess(`cli ${args.join(' ')}`, cliArgs(args), { env: { LOG_LEVEL: 'warn', ...env } });
}

/** This process's environment without the test run's database, event store or payout service. */
export function ownEnvironment(): Record<string, string> {
  const inherited: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (
      v !== undefined &&
      !/^(TEST_)?DATABASE_URL$|^DATA_DIR$|^EVENTSTORE_URL$|^TRANSACTION_SERVICE_/.test(k)
    )
      inherited[k] = v;
  }
  return inherited;
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
): Promise<{ child: ChildProcess; output: () => string; process: NodeProcess }> {
  const service = await startProcess(command, cliArgs([command]), {
    baseEnv: ownEnvironment(),
    env: { AUTH: 'off', ...env },
    cwd,
    ready,
  });
  return { child: service.child, output: () => service.output(), process: service };
}

/** What a role prints once it is ready; the api's and the transaction-service's carry their URL. */
export const READY_LINES = {
  api: /wallet ledger listening on (http:\/\/\S+?)[\s"]/,
  transactionService: /transaction-service listening at (\S+)/,
  /** At LOG_LEVEL info. */
  projector: /^.*"msg":"projector active".*$/m,
} as const;

/**
 * When `role`, started with `env`, is ready: the projector and the scheduler when /health answers
 * on their OPS_PORT (if they have one), the others when they print their ready line.
 */
export function roleReady(role: string, env: Record<string, string>): StartOptions['ready'] {
  if (env.OPS_PORT && ['project', 'schedule', 'notify'].includes(role))
    return { url: `http://${env.HOST ?? '127.0.0.1'}:${env.OPS_PORT}/health` };
  if (role === 'start' || role === 'serve') return READY_LINES.api;
  if (role === 'transaction-service') return READY_LINES.transactionService;
  if (role === 'project') return READY_LINES.projector;
  throw new Error(`${role} prints no ready line: give it an OPS_PORT`);
}

/**
 * A role of the CLI (`main.ts <role>`) as its own process with `ownEnvironment()` plus `env`, once
 * it is ready (`roleReady`); stopped when `t` ends.
 */
export function startRole(
  t: Teardown,
  role: string,
  env: Record<string, string>,
  ready: StartOptions['ready'] = roleReady(role, env),
): Promise<NodeProcess & { readonly readyMatch?: RegExpExecArray }> {
  return startProcess(role, cliArgs([role]), { t, baseEnv: ownEnvironment(), env, ready });
}

/** SIGTERM, and the exit code once it has stopped. */
export function stopService(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

/**
 * The first match of `pattern` in the service's output after the first `after` characters, as soon
 * as it is there; rejects when the process exits or `timeoutMs` passes first.
 */
export function waitForOutput(
  service: { process: NodeProcess },
  pattern: RegExp,
  options: { after?: number; timeoutMs?: number } = {},
): Promise<RegExpExecArray> {
  return service.process.waitForOutput(pattern, options);
}
