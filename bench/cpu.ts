// Where the machine's CPU goes during a figure: CPU time per process group from /proc/<pid>/stat
// (utime + stime; for PostgreSQL the postmaster, its live backends and, through the postmaster's
// cutime/cstime, backends that exited). Linux only; elsewhere the figures are absent.
import { execFileSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import type pg from 'pg';

const MACHINE = '(machine busy)';
export const REST_OF_MACHINE = 'rest of machine';

const TICK_MS = (() => {
  try {
    return 1000 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
  } catch {
    return 10;
  }
})();

async function stat(
  pid: number,
): Promise<{ ppid: number; ticks: number; children: number; started: number } | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (!text) return undefined;
  // Fields after the command name (which may hold spaces) start at the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const n = (i: number) => Number(fields[i - 3]);
  return { ppid: n(4), ticks: n(14) + n(15), children: n(16) + n(17), started: n(22) };
}

/** CPU milliseconds used so far by each named process, and by the PostgreSQL cluster if known. */
export async function cpuSnapshot(
  processes: Record<string, number>,
  postmasterPid: number | undefined,
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [name, pid] of Object.entries(processes)) {
    const s = await stat(pid);
    if (s) out[name] = s.ticks * TICK_MS;
  }
  if (postmasterPid !== undefined) {
    const master = await stat(postmasterPid);
    if (master) {
      let ticks = master.ticks + master.children;
      for (const entry of await readdir('/proc')) {
        if (!/^\d+$/.test(entry)) continue;
        const s = await stat(Number(entry));
        if (s?.ppid === postmasterPid) ticks += s.ticks;
      }
      out.postgres = ticks * TICK_MS;
    }
  }
  const self = process.cpuUsage();
  out['bench (load generator)'] = (self.user + self.system) / 1000;
  // Children of the benchmark that exited (and were reaped) hand their CPU time to this process.
  const reaped = await stat(process.pid);
  if (reaped) out['exited children'] = reaped.children * TICK_MS;
  // The whole machine's busy time (/proc/stat): what the named groups do not explain ran beside
  // them (other processes, interrupts): a figure taken on a busy machine says so.
  const all = (await readFile('/proc/stat', 'utf8').catch(() => '')).split('\n')[0]?.split(/\s+/);
  if (all?.[0] === 'cpu') {
    // user nice system idle iowait irq softirq steal: everything but idle and iowait is busy.
    const ticks = all.slice(1, 9).map(Number);
    const busy = ticks.reduce((sum, n, i) => (i === 3 || i === 4 ? sum : sum + n), 0);
    out[MACHINE] = busy * TICK_MS;
  }
  return out;
}

/**
 * CPU ms used so far by each live PostgreSQL process, keyed `<pid>:<start> <name>` (a reused pid is
 * another process). The name says whose it is: the application name of the role that opened the
 * connection, or the server's own process type (walwriter, checkpointer...). `backendDelta` turns
 * two of these into ms per name.
 */
export async function postgresBackends(
  pool: pg.Pool,
  postmasterPid: number | undefined,
): Promise<Record<string, number>> {
  if (postmasterPid === undefined) return {};
  const { rows } = await pool.query<{ pid: number; name: string }>(
    `select pid, coalesce(nullif(application_name, ''), backend_type) as name from pg_stat_activity`,
  );
  const out: Record<string, number> = {};
  for (const { pid, name } of rows) {
    const s = await stat(pid);
    if (s?.ppid === postmasterPid) out[`${pid}:${s.started} ${name}`] = s.ticks * TICK_MS;
  }
  return out;
}

/**
 * CPU ms per backend name between two `postgresBackends`. A process that exited meanwhile is left
 * out (so the names need not add up to the cluster's total); one that started counts from its start.
 */
export function backendDelta(
  before: Record<string, number>,
  after: Record<string, number>,
): Record<string, number> {
  const used: Record<string, number> = {};
  for (const [key, ms] of Object.entries(after)) {
    const name = key.slice(key.indexOf(' ') + 1);
    used[name] = (used[name] ?? 0) + ms - (before[key] ?? 0);
  }
  return used;
}

/** CPU ms used between two snapshots, per process group, and by the rest of the machine. */
export function cpuDelta(
  before: Record<string, number>,
  after: Record<string, number>,
): Record<string, number> {
  // A process missing on one side started (0 before) or exited (its time moved to `exited
  // children`) in between.
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  const used = Object.fromEntries([...keys].map((k) => [k, (after[k] ?? 0) - (before[k] ?? 0)]));
  const machine = used[MACHINE];
  delete used[MACHINE];
  if (machine !== undefined) {
    const named = Object.values(used).reduce((a, b) => a + b, 0);
    used[REST_OF_MACHINE] = Math.max(0, machine - named);
  }
  return used;
}
