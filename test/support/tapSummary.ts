/**
 * Counts tests in tap's raw output: every subtest without subtests of its own (a `t.test` holding
 * only assertions, or a test file holding none) is one test, passed if its point is `ok`. A file
 * that crashes or times out has a failing point too, so it counts as failed.
 */
export function countTapResults(raw: string): { passed: number; failed: number } {
  let passed = 0;
  let failed = 0;
  // One entry per open subtest: whether subtests, and failing ones, were seen inside it.
  const open: { indent: number; hasChildren: boolean; failedInside: boolean }[] = [];
  for (const line of raw.split('\n')) {
    const subtest = /^( *)# Subtest: /.exec(line);
    if (subtest) {
      const indent = subtest[1]?.length ?? 0;
      const parent = open.at(-1);
      if (parent && parent.indent < indent) parent.hasChildren = true;
      open.push({ indent, hasChildren: false, failedInside: false });
      continue;
    }
    const point = /^( *)(not ok|ok) \d+/.exec(line);
    if (!point) continue;
    const indent = point[1]?.length ?? 0;
    const current = open.at(-1);
    if (!current || current.indent !== indent) continue; // an assertion, not a subtest's end
    open.pop();
    const ok = point[2] === 'ok';
    if (current.hasChildren) {
      // A parent failing by itself (an assertion of its own, a timeout) still counts once.
      if (!ok && !current.failedInside) failed++;
    } else if (ok) {
      passed++;
    } else {
      failed++;
    }
    if (!ok) for (const parent of open) parent.failedInside = true;
  }
  return { passed, failed };
}
