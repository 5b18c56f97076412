import t from 'tap';
import { countTapResults } from './tapSummary.ts';

// The transcripts are tap's raw output as it prints it: indentation is nesting.

t.test('counts leaf subtests, not assertions', async (t) => {
  const raw = `TAP version 14
# Subtest: a.test.ts
    # Subtest: group
        # Subtest: one
            ok 1 - x
            ok 2 - y
        ok 1 - one
        # Subtest: two
            not ok 1 - z
        not ok 2 - two
    not ok 1 - group
not ok 1 - a.test.ts
# Subtest: b.test.ts
    ok 1 - plain assertion
ok 2 - b.test.ts
`;
  t.same(countTapResults(raw), { passed: 2, failed: 1 });
});

t.test('a file that crashes or a parent that fails by itself counts as a failure', async (t) => {
  const raw = `# Subtest: c.test.ts
    # Subtest: fine
        ok 1 - x
    ok 1 - fine
    not ok 2 - Cannot use a pool after calling end on the pool
not ok 1 - c.test.ts
# Subtest: d.test.ts
not ok 2 - d.test.ts # timeout
`;
  t.same(countTapResults(raw), { passed: 1, failed: 2 });
});
