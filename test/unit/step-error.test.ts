// What a failed launch step becomes (step-error.ts stepError: one line, the errno's name, a hint, and
// Docker's exit code) and how a wait status becomes minidock's exit code (exitCodeOf). The child
// reports {step, errno}; everything a user reads is made here. The system call names come from the
// op table (plan.ts OPS), which plan.test.ts checks for every op.
import { describe, expect, it } from 'vitest';
import { MinidockError } from '../../src/errors';
import { exitCodeOf } from '../../src/runtime/process';
import { launchFailure, stepError } from '../../src/runtime/step-error';
import { OPS, Op, type Step } from '../../src/runtime/plan';
import type { ContainerSpec } from '../../src/runtime/spec';

const ENOENT = 2,
  E2BIG = 7,
  ENOEXEC = 8,
  EACCES = 13,
  EBUSY = 16,
  EINVAL = 22;
const spec = (args: string[], cwd = '/'): ContainerSpec => ({ args, cwd }) as ContainerSpec;
const step = (op: Op, strs: string[] = [], why = 'the reason this step exists'): Step => ({
  op,
  strs,
  why,
  phase: 'mounts',
});
const fails = (s: Step | undefined, errno: number, sp = spec(['sh'])): { message: string; code: number } => {
  const e = stepError(s, errno, sp);
  expect(e).toBeInstanceOf(MinidockError);
  return { message: e.message, code: e.code };
};

describe("stepError: the exec step, with Docker's 126/127", () => {
  it('a command not found is 127, saying whether $PATH was searched', () => {
    expect(fails(step(Op.EXEC, ['nope']), ENOENT, spec(['nope']))).toEqual({
      code: 127,
      message:
        'exec "nope": executable file not found in the container (searched $PATH) (ENOENT) — check the command exists in the rootfs',
    });
    expect(fails(step(Op.EXEC, ['/bin/nope']), ENOENT, spec(['/bin/nope'])).message).toContain(
      '(no such file) (ENOENT)',
    );
  });

  it('not executable (EACCES), not a binary for this machine (ENOEXEC), anything else: 126', () => {
    expect(fails(step(Op.EXEC, ['/etc/passwd']), EACCES, spec(['/etc/passwd']))).toEqual({
      code: 126,
      message: 'exec "/etc/passwd": permission denied (EACCES) — the file is not executable, or is a directory',
    });
    expect(fails(step(Op.EXEC, ['/x.sh']), ENOEXEC, spec(['/x.sh']))).toEqual({
      code: 126,
      message: 'exec "/x.sh": exec format error (ENOEXEC) — not a binary for this machine, or a script without #!',
    });
    expect(fails(step(Op.EXEC, ['/bin/sh']), E2BIG, spec(['/bin/sh']))).toEqual({
      code: 126,
      message: 'exec "/bin/sh": E2BIG',
    });
  });
});

describe('stepError: every other step is 125, "syscall(path): ERRNO — hint"', () => {
  const call = (name: keyof typeof OPS): string => OPS[name].syscall;

  it("the hint is the step's own reason unless the errno has a known cause", () => {
    expect(fails(step(Op.CHDIR, ['/data']), ENOENT)).toEqual({
      code: 125,
      message: `${call('CHDIR')}(/data): ENOENT — the reason this step exists`,
    });
  });

  it('a mount names its target (the second string), not its source', () => {
    expect(fails(step(Op.MOUNT, ['proc', '/m/proc', 'proc', '']), EBUSY).message).toBe(
      `${call('MOUNT')}(/m/proc): EBUSY — the reason this step exists`,
    );
  });

  it("overlayfs: EINVAL is the layers' fault, any other errno the rootfs's", () => {
    const overlay = step(Op.MOUNT, ['overlay', '/s/merged', 'overlay', 'lowerdir=/r,upperdir=/s/u,workdir=/s/w']);
    expect(fails(overlay, EINVAL).message).toBe(
      `${call('MOUNT')}(/s/merged): EINVAL — overlayfs refused the layers: the upper/work directories cannot be on overlayfs, and lowerdir paths cannot contain ":" or ","`,
    );
    expect(fails(overlay, ENOENT).message).toBe(
      `${call('MOUNT')}(/s/merged): ENOENT — check that ROOTFS is a directory the kernel can use as an overlay lower layer`,
    );
  });

  it('pivot_root EINVAL: not a mount point, or a shared /', () => {
    expect(fails(step(Op.PIVOT_ROOT, ['.', '.']), EINVAL).message).toBe(
      `${call('PIVOT_ROOT')}(.): EINVAL — the new root must be a mount point, and "/" must not be shared (the plan makes it private first)`,
    );
    expect(fails(step(Op.PIVOT_ROOT, ['.', '.']), EBUSY).message).toBe(
      `${call('PIVOT_ROOT')}(.): EBUSY — the reason this step exists`,
    );
  });

  it('-w: a working directory missing in the container is named as the flag', () => {
    expect(fails(step(Op.CHDIR, ['/nowhere']), ENOENT, spec(['sh'], '/nowhere')).message).toBe(
      `${call('CHDIR')}(/nowhere): ENOENT — -w /nowhere: the working directory does not exist in the container`,
    );
  });

  it('SYNC: minidock did not release the child', () => {
    expect(fails(step(Op.SYNC), EBUSY).message).toMatch(
      /: EBUSY — minidock did not release the container \(it failed to join the cgroup\)$/,
    );
  });

  it('a record naming no step of the plan is still one line, with the errno', () => {
    expect(fails(undefined, EINVAL)).toEqual({ code: 125, message: 'container setup failed: EINVAL' });
  });
});

describe('exitCodeOf: a wait status as the shell and Docker show it', () => {
  // (status layout from <bits/waitstatus.h>: exit code in bits 8-15; signal in bits 0-6; bit 7 = core dumped)
  it.each([
    [0x0000, { code: 0 }],
    [0x0100, { code: 1 }],
    [0x7f00, { code: 127 }],
    [0xff00, { code: 255 }],
  ])('exit: status %i -> %j', (status, want) => expect(exitCodeOf(status)).toEqual(want));

  it.each([
    [9, { code: 137, signal: 9 }],
    [15, { code: 143, signal: 15 }],
    [0x80 | 11, { code: 139, signal: 11 }], // SIGSEGV with a core dump: the core bit is not part of the signal
    [0x80 | 31, { code: 159, signal: 31 }], // SIGSYS from seccomp's KILL_PROCESS, core dumped
  ])('killed: status %i -> %j', (status, want) => expect(exitCodeOf(status)).toEqual(want));
});

describe('launchFailure: the verdict of a report read to EOF', () => {
  const steps = [step(Op.MOUNT, ['proc', '/m/proc', 'proc']), step(Op.EXEC, ['sh'])];
  const rec = (stepIndex: number, err: number) => ({ step: stepIndex, err, t0: 0n, t1: 0n });

  it('exec\'d: the last record is a success (the EXEC step\'s "exec starts now", or a step whose error was ignored)', () => {
    expect(launchFailure([rec(0, 0), rec(1, 0)], steps, spec(['sh']))).toBeUndefined();
    expect(launchFailure([rec(0, -2)], steps, spec(['sh']))).toBeUndefined(); // -ENOENT: ignored, reported for the trace
  });

  it('a failed step: its sentence and code', () => {
    expect(launchFailure([rec(0, 0), rec(1, 0), rec(1, ENOENT)], steps, spec(['sh']))?.code).toBe(127);
    expect(launchFailure([rec(0, EACCES)], steps, spec(['sh']))?.message).toMatch(/^mount\(\/m\/proc\): EACCES — /);
  });

  it('no record at all: the child died before its first step', () => {
    const e = launchFailure([], steps, spec(['sh']));
    expect(e?.message).toMatch(/^container setup failed/);
    expect(e?.code).toBe(125);
  });
});
