import { defineConfig } from 'vitest/config';

// Integration tests launch real containers and compare the host's mount table and cgroup tree
// before and after: they must not run in parallel with each other across files on 2 cores
// (a leak check would see another file's container). Unit tests are cheap either way.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
