// The cloned child is a copy of one thread of multi-threaded Node: only async-signal-safe functions
// may run there (no malloc, stdio, locks). This lists what native/child.c calls and checks it.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT_DIR } from '../helpers';

// POSIX async-signal-safe functions (signal-safety(7)) plus Linux raw-syscall wrappers that are
// single system calls in glibc (mount, umount2, pivot via syscall(), prctl, unshare, sethostname...).
const ALLOWED = new Set([
  '_exit',
  'chdir',
  'clock_gettime',
  'close',
  'dup2',
  'execve',
  'fcntl',
  'getpid',
  'getsid',
  'ioctl',
  'memcpy',
  'memset',
  'mkdir',
  'mount',
  'open',
  'prctl',
  'read',
  'sendmsg',
  'sethostname',
  'setrlimit',
  'setsid',
  'sigaction',
  'sigemptyset',
  'sigprocmask',
  'socket',
  'strchr',
  'strlen',
  'symlink',
  'syscall',
  'umount2',
  'unshare',
  'write',
  '__errno_location',
  'setns',
  'fork',
  'waitpid',
  'kill',
  'getppid',
  'setpgid',
  'tcsetpgrp',
  'pipe2',
  'poll',
]);

const obj = join(ROOT_DIR, 'native/build/child.o');

describe.skipIf(!existsSync(obj))('native/child.c', () => {
  it('calls only async-signal-safe functions (nm -u against an allowlist)', () => {
    const undef = execFileSync('nm', ['-u', obj], { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.trim().split(/\s+/).pop()!)
      .filter(Boolean);
    expect(undef.length).toBeGreaterThan(10);
    const bad = undef.filter((s) => !ALLOWED.has(s.replace(/@.*$/, '')));
    expect(bad).toEqual([]);
    // and the obvious offenders are really absent
    for (const s of ['malloc', 'free', 'printf', 'fprintf', 'pthread_mutex_lock', 'execvp', 'setuid', 'setgroups'])
      expect(undef).not.toContain(s);
  });
});
