// If the benchmark process dies without cleaning up (SIGKILL, OOM), nothing stops the embedded
// PostgreSQL it started. This watchdog, a detached process with no other work, notices the
// benchmark is gone, stops the cluster (SIGINT: fast shutdown) and removes its directory.
import { spawn } from 'node:child_process';

const WATCHDOG = `
const [benchPid, postmasterPid, dir] = process.argv.slice(1).map((a, i) => (i < 2 ? Number(a) : a));
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };
const timer = setInterval(() => {
  if (alive(benchPid)) return;
  clearInterval(timer);
  if (alive(postmasterPid)) process.kill(postmasterPid, 'SIGINT');
  const waitStopped = setInterval(() => {
    if (alive(postmasterPid)) return;
    clearInterval(waitStopped);
    require('node:fs').rmSync(dir, { recursive: true, force: true });
  }, 200);
}, 500);
`;

/** Starts the watchdog for the cluster `postmasterPid` whose files live under `dir`. */
export function watchCluster(postmasterPid: number, dir: string): void {
  const child = spawn(
    process.execPath,
    ['-e', WATCHDOG, String(process.pid), String(postmasterPid), dir],
    { detached: true, stdio: 'ignore' },
  );
  child.unref();
}
