// The calls minidock's default profile refuses where Docker's allows them (docs/seccomp.md): io_uring,
// and ioctl TIOCSTI, also with garbage in the request's upper 32 bits. Each is first tried unconfined,
// so the test knows what this kernel does by itself and says which case it checked: the profile's
// refusal is EPERM, a kernel's own is something else (or EPERM too, when io_uring is disabled by sysctl:
// then only the compiled filter can be checked, with the BPF interpreter).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PROFILE, compileProfile, evaluate, syscallNumber } from '../../src/runtime/seccomp/index.js';
import { DOCKER_DEFAULT_CAPS } from '../../src/runtime/capabilities.js';
import { ROOTFS, ROOT_DIR, canRun, minidock, skipReason, useLeakCheckedRoot } from '../helpers';

const PROBES = join(ROOT_DIR, 'native', 'build', 'probes');

describe.skipIf(!canRun)(`seccomp: refused beyond Docker's default${canRun ? '' : ` (skipped: ${skipReason})`}`, () => {
  let root = '';
  useLeakCheckedRoot((r) => (root = r));
  const probe = (name: string, extra: string[] = []): string => {
    const r = minidock(['run', '--rm', ...extra, '-v', `${PROBES}:/probe:ro`, ROOTFS, '/probe/refused', name], {
      root,
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const m = new RegExp(`^${name}: (\\S+)`, 'm').exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    return m![1];
  };
  const filter = compileProfile(DEFAULT_PROFILE, { caps: DOCKER_DEFAULT_CAPS });

  for (const [name, syscall, args] of [
    ['io_uring', 'io_uring_setup', [1, 0]],
    ['tiocsti', 'ioctl', [3, 0x5412]],
    ['tiocsti_high', 'ioctl', [3, 0x1_0000_5412]],
  ] as const) {
    it(`${name}: EPERM in a default container; what the kernel does unconfined decides what the EPERM proves`, () => {
      // the compiled filter refuses it whatever the kernel does
      expect(evaluate(filter, { nr: syscallNumber(syscall)!, args: [...args] })).toMatchObject({
        action: 'ERRNO',
        errno: 1,
      });
      const unconfined = probe(name, ['--security-opt', 'seccomp=unconfined', '--cap-add', 'SYS_ADMIN']);
      const confined = probe(name);
      expect(confined).toBe('EPERM');
      // say which case this kernel is, in the test's output
      console.log(
        `${name}: unconfined ${unconfined}, default profile ${confined}${unconfined === 'ok' ? ' (the filter refused a call the kernel allows)' : ' (this kernel refuses it by itself too)'}`,
      );
      if (unconfined === 'ok') expect(confined).not.toBe(unconfined);
    });
  }
});
