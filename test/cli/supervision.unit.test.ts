// Supervision without processes or sleeps: children that crash on cue, an injected wait that
// records the backoff, a clock that moves when told, and a stand-in for the process's signals.
import { EventEmitter } from 'node:events';
import t from 'tap';
import type { Running, Runtime } from '../../src/cli/runtime.ts';
import {
  type Child,
  type ExitStatus,
  RoleEnded,
  runUntilSignalled,
  type SignalSource,
  superviseChild,
} from '../../src/cli/supervision.ts';
import type { Logger } from '../../src/infra/logger.ts';

interface Line {
  level: keyof Logger;
  message: string;
  details?: Record<string, unknown>;
}

function recordingLogger(): Logger & { lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: keyof Logger) => (message: string, details?: Record<string, unknown>) => {
    lines.push({ level, message, details });
  };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Children that exit when the test says so; `started` lists every one, in order. */
function fakeChildren(options: { failStarts?: number[] } = {}) {
  const started: (Child & { crash(status: ExitStatus): void; stopped: boolean })[] = [];
  let attempts = 0;
  const start = async () => {
    attempts += 1;
    if (options.failStarts?.includes(attempts)) throw new Error('exit code 1 before ready');
    let exit: (status: ExitStatus) => void = () => {};
    const exited = new Promise<ExitStatus>((resolve) => {
      exit = resolve;
    });
    const child = {
      pid: 1000 + attempts,
      url: 'http://127.0.0.1:8010',
      exited,
      stopped: false,
      crash: (status: ExitStatus) => exit(status),
      stop: async () => {
        child.stopped = true;
        exit({ code: 0, signal: null });
        await exited;
      },
    };
    started.push(child);
    return child;
  };
  return { start, started };
}

/** A wait that records its delay and returns at once (or never, when `hold` is set). */
function recordingWait() {
  const delays: number[] = [];
  let hold = false;
  return {
    delays,
    holdNext: () => {
      hold = true;
    },
    wait: (ms: number, signal: AbortSignal) => {
      delays.push(ms);
      if (!hold) return Promise.resolve();
      hold = false;
      return new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
    },
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

async function untilStarted(started: unknown[], count: number) {
  for (let i = 0; i < 100 && started.length < count; i++) await tick();
}

t.test(
  'a crashing child is restarted after 1 s, 2 s and 4 s, then the role gives up',
  async (t) => {
    const log = recordingLogger();
    const { start, started } = fakeChildren();
    const { wait, delays } = recordingWait();
    const role = await superviseChild({ name: 'transaction-service', start, log, wait });
    t.equal(role.name, 'transaction-service');
    t.equal(role.url, 'http://127.0.0.1:8010');

    for (let n = 1; n <= 4; n++) {
      await untilStarted(started, n);
      started[n - 1]?.crash({ code: null, signal: 'SIGKILL' });
    }
    const error = await role.done.then(
      () => undefined,
      (e: unknown) => e,
    );
    t.type(error, RoleEnded);
    t.match(error, { role: 'transaction-service', how: 'signal SIGKILL, after 3 restarts' });
    t.same(delays, [1000, 2000, 4000], 'the backoff');
    t.equal(started.length, 4, 'started once and restarted three times');
    t.same(
      log.lines.map((line) => [line.level, line.message]),
      [
        [
          'error',
          'transaction-service (pid 1001) ended unexpectedly: signal SIGKILL; restarting in 1 s (restart 1 of 3)',
        ],
        [
          'error',
          'transaction-service (pid 1002) ended unexpectedly: signal SIGKILL; restarting in 2 s (restart 2 of 3)',
        ],
        [
          'error',
          'transaction-service (pid 1003) ended unexpectedly: signal SIGKILL; restarting in 4 s (restart 3 of 3)',
        ],
        [
          'error',
          'transaction-service (pid 1004) ended unexpectedly: signal SIGKILL; giving up after 3 restarts',
        ],
      ],
    );
    t.match(log.lines[0]?.details, {
      role: 'transaction-service',
      pid: 1001,
      code: null,
      signal: 'SIGKILL',
    });
  },
);

t.test('a child that ran long enough before it crashed starts the count afresh', async (t) => {
  const log = recordingLogger();
  const { start, started } = fakeChildren();
  const { wait, delays } = recordingWait();
  let clock = 0;
  const role = await superviseChild({
    name: 'worker',
    start,
    log,
    wait,
    now: () => clock,
    stableMs: 60_000,
  });
  started[0]?.crash({ code: 1, signal: null });
  await untilStarted(started, 2);
  started[1]?.crash({ code: 1, signal: null });
  await untilStarted(started, 3);
  clock += 60_000; // the third one runs a minute
  started[2]?.crash({ code: 1, signal: null });
  await untilStarted(started, 4);
  t.same(delays, [1000, 2000, 1000], 'back to the first wait');
  t.match(log.lines.at(-1)?.message, /exit code 1; restarting in 1 s \(restart 1 of 3\)$/);
  await role.stop();
  t.ok(started[3]?.stopped, 'stop stops the child running now');
  await role.done;
});

t.test('a restart that fails to start counts as a crash', async (t) => {
  const log = recordingLogger();
  const { start, started } = fakeChildren({ failStarts: [2] });
  const { wait, delays } = recordingWait();
  const role = await superviseChild({ name: 'worker', start, log, wait });
  started[0]?.crash({ code: 1, signal: null });
  await untilStarted(started, 2);
  t.same(delays, [1000, 2000]);
  t.match(log.lines[1], {
    level: 'error',
    message: /it did not start again: exit code 1 before ready; restarting in 2 s/,
  });
  await role.stop();
  await role.done;
});

t.test('stop during the wait before a restart: no restart, done resolves', async (t) => {
  const log = recordingLogger();
  const { start, started } = fakeChildren();
  const { wait, holdNext } = recordingWait();
  const role = await superviseChild({ name: 'worker', start, log, wait });
  holdNext();
  started[0]?.crash({ code: null, signal: 'SIGSEGV' });
  await tick();
  await role.stop();
  await role.done;
  await tick();
  t.equal(started.length, 1, 'not started again');
});

t.test('a child stopped on purpose is not restarted and nothing is logged', async (t) => {
  const log = recordingLogger();
  const { start, started } = fakeChildren();
  const role = await superviseChild({ name: 'worker', start, log, wait: recordingWait().wait });
  await role.stop();
  await role.done;
  t.equal(started.length, 1);
  t.same(log.lines, []);
});

/** A role that ends when stopped, or by itself through `end`/`fail`. */
function fakeRole(name: string, stops: string[]) {
  let resolve: () => void = () => {};
  let reject: (error: unknown) => void = () => {};
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const role: Running & { end(): void; fail(error: unknown): void } = {
    name,
    done,
    stop: async () => {
      stops.push(name);
      resolve();
    },
    end: () => resolve(),
    fail: (error) => reject(error),
  };
  return role;
}

function fakeRuntime(log: Logger, closed: string[]): Runtime {
  return {
    log,
    close: async () => {
      closed.push('runtime');
    },
  } as unknown as Runtime;
}

function fakeSignals(): SignalSource & EventEmitter & { exits: number[] } {
  const emitter = new EventEmitter() as EventEmitter & {
    exits: number[];
    exit(code?: number): never;
  };
  emitter.exits = [];
  emitter.exit = ((code?: number) => {
    emitter.exits.push(code ?? 0);
  }) as (code?: number) => never;
  return emitter as unknown as SignalSource & EventEmitter & { exits: number[] };
}

t.test('a role that fails: named at error level, the others stopped, exit code 1', async (t) => {
  const log = recordingLogger();
  const order: string[] = [];
  const roles = ['projector', 'scheduler', 'api'].map((name) => fakeRole(name, order));
  const running = runUntilSignalled(fakeRuntime(log, order), roles, fakeSignals());
  roles[0]?.fail(new Error('read model schema is from a newer version'));
  t.equal(await running, 1);
  t.same(order, ['api', 'scheduler', 'projector', 'runtime'], 'reverse order, the database last');
  t.same(log.lines, [
    {
      level: 'error',
      message: 'stopping: the projector role failed: read model schema is from a newer version',
      details: { role: 'projector' },
    },
  ]);
});

t.test('a role that ends by itself, or a supervised child that gave up', async (t) => {
  for (const [end, message] of [
    [
      (role: ReturnType<typeof fakeRole>) => role.end(),
      'stopping: the api role ended unexpectedly',
    ],
    [
      (role: ReturnType<typeof fakeRole>) =>
        role.fail(new RoleEnded('api', 'signal SIGKILL, after 3 restarts')),
      'stopping: the api role ended unexpectedly: signal SIGKILL, after 3 restarts',
    ],
  ] as const) {
    const log = recordingLogger();
    const roles = [fakeRole('api', [])];
    const running = runUntilSignalled(fakeRuntime(log, []), roles, fakeSignals());
    end(roles[0] as ReturnType<typeof fakeRole>);
    t.equal(await running, 1);
    t.match(log.lines, [{ level: 'error', message }]);
  }
});

t.test('SIGTERM stops every role and closes the runtime: exit code 0', async (t) => {
  const log = recordingLogger();
  const order: string[] = [];
  const signals = fakeSignals();
  const roles = ['projector', 'api'].map((name) => fakeRole(name, order));
  const running = runUntilSignalled(fakeRuntime(log, order), roles, signals);
  signals.emit('SIGTERM');
  t.equal(await running, 0);
  t.same(order, ['api', 'projector', 'runtime']);
  t.same(log.lines, [{ level: 'info', message: 'stopping (SIGTERM)', details: undefined }]);
  signals.emit('SIGINT');
  t.same(signals.exits, [1], 'a second signal does not wait');
});
