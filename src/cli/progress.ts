// Progress of long work: a bar redrawn in place on a terminal, a plain line every second otherwise.

export interface Progress {
  /** `total` may grow as the work goes on; the line never shows more done than total. */
  update(done: number, total: number | undefined): void;
  finish(message: string): void;
}

const count = (n: number) => Math.round(n).toLocaleString('en-US');

function describe(done: number, total: number | undefined, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? (done / elapsedMs) * 1000 : 0;
  const parts = [
    total ? `${count(done)}/${count(total)} events` : `${count(done)} events`,
    `${count(rate)} ev/s`,
  ];
  if (total && rate > 0 && done < total) parts.push(`ETA ${Math.ceil((total - done) / rate)} s`);
  return parts.join('  ');
}

export function createProgress(
  label: string,
  stream: Pick<NodeJS.WriteStream, 'isTTY' | 'write'> = process.stderr,
  clock: () => number = () => performance.now(),
): Progress {
  const started = clock();
  let lastLine = Number.NEGATIVE_INFINITY;
  return {
    update(done, reportedTotal) {
      const now = clock();
      const total = reportedTotal === undefined ? undefined : Math.max(reportedTotal, done);
      const text = describe(done, total, now - started);
      if (stream.isTTY) {
        const width = 30;
        const fraction = total ? Math.min(1, done / total) : 0;
        const filled = Math.round(fraction * width);
        const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${total ? `${Math.floor(fraction * 100)}%` : ''}`;
        stream.write(`\r${label} ${bar} ${text}\u001b[K`);
      } else if (now - lastLine >= 1000) {
        lastLine = now;
        stream.write(`${label}: ${text}\n`);
      }
    },
    finish(message) {
      if (stream.isTTY) stream.write('\n');
      stream.write(`${message}\n`);
    },
  };
}
