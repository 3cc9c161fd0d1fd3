// Hooks that only tests use: set through the environment, no-ops otherwise.

/**
 * MINIDOCK_TEST_KILL_AT=<phase> makes minidock SIGKILL itself at that point of a launch, so that
 * tests can prove `minidock gc` cleans up after a launcher that died at any moment.
 * Phases: dirs, cgroup, monitor (run -d), clone, join, exec.
 */
export function killPoint(phase: string): void {
  if (process.env.MINIDOCK_TEST_KILL_AT === phase) process.kill(process.pid, 'SIGKILL');
  // MINIDOCK_TEST_THROW_AT=<phase>: an internal error (a bug) at that point, for the test of how one
  // is reported (src/cli/stack.ts)
  if (process.env.MINIDOCK_TEST_THROW_AT === phase) throw new TypeError(`MINIDOCK_TEST_THROW_AT=${phase}`);
}
