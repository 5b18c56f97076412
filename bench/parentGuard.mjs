// Preloaded (`--import`) into every process the benchmark starts: if the benchmark itself dies
// without stopping its children (SIGKILL, a crash), the child notices that it was re-parented and
// sends itself SIGTERM, so it shuts down the way the CLI does on Ctrl-C instead of lingering.
const parent = process.ppid;
const timer = setInterval(() => {
  if (process.ppid !== parent) {
    clearInterval(timer);
    process.kill(process.pid, 'SIGTERM');
  }
}, 500);
timer.unref();
