// readOpt (sys/read.ts): the one reader for files that may be absent (/proc, /sys, cgroup files).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readOpt } from '../../src/sys/read';

const dir = mkdtempSync(join(tmpdir(), 'minidock-read-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readOpt', () => {
  it('reads a file whole, as text', () => {
    writeFileSync(join(dir, 'f'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n');
    expect(readOpt(join(dir, 'f'))).toBe('oom_kill_disable 0\nunder_oom 0\noom_kill 2\n');
  });

  it('reads a kernel file (sized 0 by stat, filled on read)', () => {
    expect(readOpt('/proc/self/stat')).toMatch(new RegExp(`^${process.pid} \\(`));
  });

  it('is undefined for a missing file, a path through a file, and a directory', () => {
    expect(readOpt(join(dir, 'absent'))).toBeUndefined();
    expect(readOpt(join(dir, 'f', 'below'))).toBeUndefined();
    expect(readOpt(dir)).toBeUndefined();
  });
});
