// A bug inside a launch (an exception that is not a MinidockError), forced at each of its points with
// MINIDOCK_TEST_THROW_AT (src/runtime/test-hooks.ts): one "internal error" report whose stack names
// the src/ files and lines the minified bundle was built from (src/cli/stack.ts, through the source
// maps scripts/bundle.mjs writes), exit 125, and nothing of the launch left on the host.
import { describe, expect, it } from 'vitest';
import { ROOTFS, canRun, minidock, skipReason, useLeakCheckedRoot } from '../helpers';

const d = canRun ? describe : describe.skip;
if (!canRun) console.warn(`SKIPPED test/integration/internal-error.test.ts: ${skipReason}`);

d('an internal error during a launch', () => {
  let root = '';
  useLeakCheckedRoot((r) => (root = r));

  it.each([
    ['dirs', []],
    ['cgroup', []],
    ['clone', []],
    ['join', []],
    ['exec', []],
    ['dirs', ['-d']],
    ['monitor', ['-d']],
    ['exec', ['-d']],
  ])('thrown at %s (%j): reported with src/ lines, exit 125, nothing left', (phase, flags) => {
    const r = minidock(['run', '--rm', ...flags, ROOTFS, '/bin/sleep', '1'], {
      root,
      env: { ...process.env, MINIDOCK_TEST_THROW_AT: phase as string },
    });
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(new RegExp(`^minidock: internal error: TypeError: MINIDOCK_TEST_THROW_AT=${phase}\\n`));
    // the frames: files of src/ with their lines, not positions in dist/verbs/run.cjs
    expect(r.stderr).toMatch(/\n\s+at \S+ \(src\/runtime\/test-hooks\.ts:\d+:\d+\)/);
    expect(r.stderr).toMatch(/\(src\/runtime\/launch\.ts:\d+:\d+\)/);
    expect(r.stderr).not.toMatch(/\.cjs:\d+:\d+/);
    expect(minidock(['ps', '-a', '-q'], { root }).stdout).toBe('');
  });
});
