// The progress line of long work (rebuild): a total that grows as the work goes on, and never more
// done than total, on a terminal and in a log.
import t from 'tap';
import { createProgress } from '../../src/cli/progress.ts';

function fakeStream(isTTY: boolean) {
  const written: string[] = [];
  return {
    written,
    stream: {
      isTTY,
      write: (chunk: string) => {
        written.push(chunk);
        return true;
      },
    },
  };
}

t.test('a log: one line a second, never more done than total', async (t) => {
  const { stream, written } = fakeStream(false);
  let now = 0;
  const progress = createProgress('rebuild', stream, () => now);
  progress.update(0, 78_575);
  now = 500;
  progress.update(40_000, 78_575); // within the second: no line
  now = 1000;
  progress.update(50_000, 78_575);
  now = 2000;
  progress.update(83_577, 78_575); // the log grew past the count taken at the start
  now = 3000;
  progress.update(84_000, 90_000); // counted again
  progress.finish('rebuilt');
  t.same(written, [
    'rebuild: 0/78,575 events  0 ev/s\n',
    'rebuild: 50,000/78,575 events  50,000 ev/s  ETA 1 s\n',
    'rebuild: 83,577/83,577 events  41,789 ev/s\n',
    'rebuild: 84,000/90,000 events  28,000 ev/s  ETA 1 s\n',
    'rebuilt\n',
  ]);
});

t.test('a terminal: the bar stays at 100 % at most', async (t) => {
  const { stream, written } = fakeStream(true);
  let now = 0;
  const progress = createProgress('rebuild', stream, () => now);
  now = 1000;
  progress.update(83_577, 78_575);
  t.match(written[0], /\[#{30}\] 100% 83,577\/83,577 events/);
  progress.update(10, undefined);
  t.match(written[1], /\[-{30}\] {2}10 events/, 'without a total: a count only');
});
