// Profiles: loading, validation, compilation, and the decisions of the default profile (no kernel
// needed: decisions are checked with the BPF interpreter).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MinidockError } from '../../src/errors.js';
import { DOCKER_DEFAULT_CAPS } from '../../src/runtime/capabilities.js';
import {
  AUDIT_ARCH_AARCH64,
  AUDIT_ARCH_I386,
  DEFAULT_PROFILE,
  OTHER_ARCH_SYSCALLS,
  SYSCALLS_X86_64,
  type SeccompProfile,
  actionValue,
  checkSeccompProgram,
  compileProfile,
  compileProfileDetailed,
  decode,
  disassemble,
  evaluate,
  loadProfileFile,
  parseSyscall,
  planProfile,
  syscallNumber,
} from '../../src/runtime/seccomp/index.js';

const KERNEL = '6.1.0-18-amd64';
const CLONE_NEWUSER = 0x10000000;
const CLONE_NEWNS = 0x00020000;
// glibc's fork(): CLONE_CHILD_SETTID|CLONE_CHILD_CLEARTID|SIGCHLD; pthread_create's flags
const FORK_FLAGS = 0x01200011;
const THREAD_FLAGS = 0x003d0f00;

const tmp = mkdtempSync(join(tmpdir(), 'minidock-seccomp-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let files = 0;
const writeProfile = (content: unknown): string => {
  const path = join(tmp, `profile-${files++}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return path;
};

const nr = (name: string): number => {
  const n = syscallNumber(name);
  if (n === undefined) throw new Error(`no syscall ${name}`);
  return n;
};

const compileDefault = (caps: readonly string[] = DOCKER_DEFAULT_CAPS, kernel = KERNEL): Uint8Array =>
  compileProfile(DEFAULT_PROFILE, { caps, kernel });

const decide = (prog: Uint8Array, name: string, args: (bigint | number)[] = [], arch?: number) =>
  evaluate(prog, { nr: nr(name), args, ...(arch !== undefined ? { arch } : {}) });

describe('x86_64 syscall table', () => {
  it('has the well-known numbers', () => {
    expect(SYSCALLS_X86_64.read).toBe(0);
    expect(SYSCALLS_X86_64.clone).toBe(56);
    expect(SYSCALLS_X86_64.execve).toBe(59);
    expect(SYSCALLS_X86_64.mount).toBe(165);
    expect(SYSCALLS_X86_64.clone3).toBe(435);
    expect(SYSCALLS_X86_64.fchmodat2).toBe(452);
    expect(Object.keys(SYSCALLS_X86_64).length).toBeGreaterThan(360);
    expect(syscallNumber('constructor')).toBeUndefined();
  });

  it('parses command-line syscall names and numbers', () => {
    expect(parseSyscall('mkdir')).toBe(83);
    expect(parseSyscall('83')).toBe(83);
    expect(parseSyscall('0x53')).toBe(83);
    expect(() => parseSyscall('mkdirx')).toThrow(MinidockError);
    expect(() => parseSyscall('chown32')).toThrow(/not a syscall on x86_64/);
  });

  it('agrees with <asm/unistd_64.h> where the header is installed', () => {
    const header = '/usr/include/x86_64-linux-gnu/asm/unistd_64.h';
    if (!existsSync(header)) return;
    const defs = [...readFileSync(header, 'utf8').matchAll(/#define __NR_(\w+) (\d+)/g)];
    expect(defs.length).toBeGreaterThan(300);
    for (const [, name, num] of defs) expect([name, SYSCALLS_X86_64[name]]).toEqual([name, Number(num)]);
  });

  it('every name in the default profile is an x86_64 syscall or a known other-arch one', () => {
    for (const s of DEFAULT_PROFILE.syscalls ?? []) {
      for (const n of s.names)
        expect(syscallNumber(n) !== undefined || OTHER_ARCH_SYSCALLS.has(n) || !!s.includes?.arches, n).toBe(true);
    }
  });
});

describe('action values', () => {
  it('encodes SECCOMP_RET_* like the kernel headers', () => {
    expect(actionValue('SCMP_ACT_ALLOW')).toBe(0x7fff0000);
    expect(actionValue('SCMP_ACT_ERRNO')).toBe(0x00050001);
    expect(actionValue('SCMP_ACT_ERRNO', 38)).toBe(0x00050026);
    expect(actionValue('SCMP_ACT_KILL')).toBe(0);
    expect(actionValue('SCMP_ACT_KILL_THREAD')).toBe(0);
    expect(actionValue('SCMP_ACT_KILL_PROCESS')).toBe(0x80000000);
    expect(actionValue('SCMP_ACT_TRAP')).toBe(0x00030000);
    expect(actionValue('SCMP_ACT_LOG')).toBe(0x7ffc0000);
    expect(actionValue('SCMP_ACT_TRACE', 7)).toBe(0x7ff00007);
  });
});

describe('default profile with Docker default capabilities', () => {
  const prog = compileDefault();

  it('is a valid program for the kernel, and deterministic', () => {
    expect(checkSeccompProgram(decode(prog))).toEqual([]);
    expect(prog.length % 8).toBe(0);
    expect(compileDefault()).toEqual(prog);
  });

  const denied = [
    'mount',
    'umount2',
    'unshare',
    'setns',
    'keyctl',
    'add_key',
    'request_key',
    'bpf',
    'perf_event_open',
    'kexec_load',
    'kexec_file_load',
    'open_by_handle_at',
    'reboot',
    'swapon',
    'swapoff',
    'init_module',
    'finit_module',
    'delete_module',
    'acct',
    'pivot_root',
    'iopl',
    'ioperm',
    'settimeofday',
    'clock_settime',
    'syslog',
    'vhangup',
    'kcmp',
    'userfaultfd',
    'lookup_dcookie',
    'quotactl',
    'fsopen',
    'open_tree',
    'move_mount',
    'sethostname',
    'setdomainname',
    'mbind',
    'set_mempolicy',
    'nfsservctl',
    'uselib',
    'create_module',
    'io_uring_setup',
    'io_uring_enter',
    'io_uring_register',
  ];
  for (const name of denied) {
    it(`${name} -> ERRNO(EPERM)`, () => expect(decide(prog, name)).toMatchObject({ action: 'ERRNO', errno: 1 }));
  }

  const allowed = [
    'read',
    'write',
    'openat',
    'close',
    'mmap',
    'execve',
    'exit_group',
    'futex',
    'rt_sigaction',
    'getpid',
    'arch_prctl',
    'modify_ldt',
    'chroot',
    'mknod',
    'fchmodat2',
    'fork',
    'vfork',
    'wait4',
    'ptrace',
    'process_vm_readv',
    'name_to_handle_at',
    'seccomp',
    'capset',
    'setuid',
    'prctl',
  ];
  for (const name of allowed) {
    it(`${name} -> ALLOW`, () => expect(decide(prog, name).action).toBe('ALLOW'));
  }

  it('ioctl: allowed, except TIOCSTI and TIOCLINUX, which fail with EPERM whatever the upper 32 bits of the request hold', () => {
    const TCGETS = 0x5401;
    const TIOCGWINSZ = 0x5413;
    for (const req of [TCGETS, TIOCGWINSZ, 0x5411, 0x5413, 0x541b])
      expect(decide(prog, 'ioctl', [0, req]).action).toBe('ALLOW');
    for (const req of [0x5412, 0x541c]) {
      expect(decide(prog, 'ioctl', [0, req])).toMatchObject({ action: 'ERRNO', errno: 1 });
      // the kernel reads the request as an unsigned int: garbage above bit 31 must not get it through
      expect(decide(prog, 'ioctl', [0, 0x1_0000_0000 + req])).toMatchObject({ action: 'ERRNO', errno: 1 });
      expect(decide(prog, 'ioctl', [0, 0xffff_ffff_0000_0000n + BigInt(req)])).toMatchObject({
        action: 'ERRNO',
        errno: 1,
      });
    }
  });

  it('clone: allowed without namespace flags, EPERM with any CLONE_NEW* flag', () => {
    expect(decide(prog, 'clone', [0]).action).toBe('ALLOW');
    expect(decide(prog, 'clone', [FORK_FLAGS]).action).toBe('ALLOW');
    expect(decide(prog, 'clone', [THREAD_FLAGS]).action).toBe('ALLOW');
    // bits above 32 are not namespace flags
    expect(decide(prog, 'clone', [0x1_0000_0000n | BigInt(FORK_FLAGS)]).action).toBe('ALLOW');
    expect(decide(prog, 'clone', [CLONE_NEWUSER])).toMatchObject({ action: 'ERRNO', errno: 1 });
    expect(decide(prog, 'clone', [FORK_FLAGS | CLONE_NEWNS])).toMatchObject({ action: 'ERRNO', errno: 1 });
    for (const bit of [0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000]) {
      expect(decide(prog, 'clone', [bit]).action).toBe('ERRNO');
    }
    // CLONE_NEWTIME (0x80) is not in Docker's mask
    expect(decide(prog, 'clone', [0x80]).action).toBe('ALLOW');
  });

  it('clone3 -> ERRNO(ENOSYS), so libc falls back to clone', () => {
    expect(decide(prog, 'clone3')).toMatchObject({ action: 'ERRNO', errno: 38 });
  });

  it('personality: only the listed personas', () => {
    for (const p of [0, 8, 0x20000, 0x20008, 0xffffffff]) expect(decide(prog, 'personality', [p]).action).toBe('ALLOW');
    for (const p of [1, 9, 0x0400000, 0x1_0000_0000n, 0x1_ffff_ffffn])
      expect(decide(prog, 'personality', [p]).action).toBe('ERRNO');
  });

  it('socket: everything but AF_VSOCK (40)', () => {
    expect(decide(prog, 'socket', [2, 1, 0]).action).toBe('ALLOW'); // AF_INET
    expect(decide(prog, 'socket', [1]).action).toBe('ALLOW'); // AF_UNIX
    expect(decide(prog, 'socket', [40])).toMatchObject({ action: 'ERRNO', errno: 1 });
    expect(decide(prog, 'socket', [0x1_0000_0028n]).action).toBe('ALLOW'); // 64-bit compare: high half differs
  });

  it('other ABIs are killed: i386 (arch check) and x32 (nr bit 0x40000000)', () => {
    expect(evaluate(prog, { nr: 11, arch: AUDIT_ARCH_I386 }).action).toBe('KILL_PROCESS');
    expect(evaluate(prog, { nr: 0, arch: AUDIT_ARCH_AARCH64 }).action).toBe('KILL_PROCESS');
    expect(evaluate(prog, { nr: 0x40000000 | nr('read') }).action).toBe('KILL_PROCESS');
    expect(evaluate(prog, { nr: 0x40000000 | nr('mount') }).action).toBe('KILL_PROCESS');
    expect(evaluate(prog, { nr: -1 }).action).toBe('KILL_PROCESS');
  });

  it('unknown and future syscall numbers get the default action', () => {
    expect(evaluate(prog, { nr: 999 })).toMatchObject({ action: 'ERRNO', errno: 1 });
    expect(evaluate(prog, { nr: 335 })).toMatchObject({ action: 'ERRNO', errno: 1 }); // uretprobe: not listed
  });

  it('needs trampolines (the program is longer than 255) and skips other-arch names', () => {
    const c = compileProfileDetailed(DEFAULT_PROFILE, { caps: DOCKER_DEFAULT_CAPS, kernel: KERNEL });
    expect(c.filters.length).toBeGreaterThan(255);
    expect(c.trampolines).toBeGreaterThan(0);
    expect(c.plan.skipped).toContain('chown32');
    expect(c.plan.skipped).toContain('_llseek');
    expect(c.plan.skipped).not.toContain('read');
  });

  it('disassembles into a readable listing', () => {
    const c = compileProfileDetailed(DEFAULT_PROFILE, { caps: DOCKER_DEFAULT_CAPS, kernel: KERNEL });
    const text = disassemble(c.bytes, { comments: c.comments });
    expect(text).toMatch(/^seccomp BPF program: \d+ instructions, \d+ bytes/);
    expect(text).toMatch(/ld {3}\[4\] +; arch/);
    expect(text).toMatch(/jeq {2}#59, L\d+(→L\d+)?, next +; execve/);
    expect(text).toMatch(/jge {2}#0x40000000, L\d+→L\d+, L\d+ +; x32 syscall bit/);
    expect(text).toContain('CLONE_NEWUSER');
    expect(text).toContain('ret  ERRNO(EPERM)');
    expect(text).toContain('ret  ERRNO(ENOSYS)');
    expect(text).toContain('ret  KILL_PROCESS');
  });
});

describe('default profile with more capabilities', () => {
  it('CAP_SYS_ADMIN allows mount, unshare, setns, namespace clone, clone3', () => {
    const prog = compileDefault([...DOCKER_DEFAULT_CAPS, 'CAP_SYS_ADMIN']);
    for (const name of ['mount', 'umount2', 'unshare', 'setns', 'sethostname', 'bpf', 'perf_event_open', 'fsopen']) {
      expect(decide(prog, name).action, name).toBe('ALLOW');
    }
    expect(decide(prog, 'clone', [CLONE_NEWUSER]).action).toBe('ALLOW');
    expect(decide(prog, 'clone3').action).toBe('ALLOW');
    expect(decide(prog, 'keyctl').action).toBe('ERRNO'); // never allowed
    expect(decide(prog, 'reboot').action).toBe('ERRNO');
  });

  it('each capability opens its own syscalls', () => {
    const cases: [string, string[]][] = [
      ['CAP_SYS_BOOT', ['reboot']],
      ['CAP_SYS_MODULE', ['init_module', 'finit_module', 'delete_module']],
      ['CAP_SYS_PTRACE', ['kcmp', 'pidfd_getfd', 'process_madvise']],
      ['CAP_SYS_PACCT', ['acct']],
      ['CAP_SYS_RAWIO', ['iopl', 'ioperm']],
      ['CAP_SYS_TIME', ['settimeofday', 'clock_settime']],
      ['CAP_SYS_TTY_CONFIG', ['vhangup']],
      ['CAP_SYS_NICE', ['mbind', 'set_mempolicy', 'get_mempolicy', 'set_mempolicy_home_node']],
      ['CAP_SYSLOG', ['syslog']],
      ['CAP_BPF', ['bpf']],
      ['CAP_PERFMON', ['perf_event_open']],
      ['CAP_DAC_READ_SEARCH', ['open_by_handle_at']],
    ];
    const base = compileDefault();
    for (const [cap, names] of cases) {
      const prog = compileDefault([...DOCKER_DEFAULT_CAPS, cap]);
      for (const n of names) {
        expect(decide(base, n).action, `${n} without ${cap}`).toBe('ERRNO');
        expect(decide(prog, n).action, `${n} with ${cap}`).toBe('ALLOW');
      }
    }
  });

  it('without CAP_SYS_CHROOT, chroot is denied; capability names may omit CAP_', () => {
    const noChroot = compileDefault(DOCKER_DEFAULT_CAPS.filter((c) => c !== 'CAP_SYS_CHROOT'));
    expect(decide(noChroot, 'chroot').action).toBe('ERRNO');
    expect(decide(compileDefault(['SYS_BOOT']), 'reboot').action).toBe('ALLOW');
  });

  it('ptrace needs linux >= 4.8 (includes.minKernel)', () => {
    expect(decide(compileDefault(DOCKER_DEFAULT_CAPS, '4.4.0'), 'ptrace').action).toBe('ERRNO');
    expect(decide(compileDefault(DOCKER_DEFAULT_CAPS, '4.8.0'), 'ptrace').action).toBe('ALLOW');
    expect(decide(compileDefault([...DOCKER_DEFAULT_CAPS, 'CAP_SYS_PTRACE'], '4.4.0'), 'ptrace').action).toBe('ALLOW');
  });
});

describe('Docker-format JSON files', () => {
  // ~40 syscalls with arguments, compared between the built-in profile and the same profile read back
  // from a JSON file.
  const probes: [string, (bigint | number)[]][] = [
    ['read', []],
    ['write', []],
    ['openat', []],
    ['close', []],
    ['mmap', []],
    ['execve', []],
    ['brk', []],
    ['mount', []],
    ['umount2', []],
    ['unshare', []],
    ['setns', []],
    ['keyctl', []],
    ['add_key', []],
    ['bpf', []],
    ['perf_event_open', []],
    ['kexec_load', []],
    ['open_by_handle_at', []],
    ['reboot', []],
    ['swapon', []],
    ['init_module', []],
    ['ptrace', []],
    ['chroot', []],
    ['pivot_root', []],
    ['acct', []],
    ['clone', [0]],
    ['clone', [CLONE_NEWUSER]],
    ['clone', [FORK_FLAGS]],
    ['clone3', []],
    ['personality', [0]],
    ['personality', [8]],
    ['personality', [9]],
    ['personality', [0xffffffff]],
    ['socket', [2]],
    ['socket', [40]],
    ['arch_prctl', []],
    ['modify_ldt', []],
    ['futex_waitv', []],
    ['io_uring_enter', []],
    ['syslog', []],
    ['userfaultfd', []],
    ['getrandom', []],
  ];

  it('round-trips the default profile: loadProfileFile -> compile gives the same decisions', () => {
    const path = writeProfile(DEFAULT_PROFILE);
    const loaded = loadProfileFile(path);
    for (const caps of [DOCKER_DEFAULT_CAPS, [...DOCKER_DEFAULT_CAPS, 'CAP_SYS_ADMIN'], []]) {
      const a = compileProfile(DEFAULT_PROFILE, { caps, kernel: KERNEL });
      const b = compileProfile(loaded, { caps, kernel: KERNEL, source: path });
      expect(b).toEqual(a);
      for (const [name, args] of probes) expect(decide(b, name, args), name).toEqual(decide(a, name, args));
    }
  });

  it('accepts Docker-style files: empty includes/excludes, null args, comments, the old "name" form', () => {
    const path = writeProfile(`{
      "defaultAction": "SCMP_ACT_ERRNO",
      "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
      "syscalls": [
        { "names": ["read", "write", "chown32", "exit_group"], "action": "SCMP_ACT_ALLOW",
          "args": [], "comment": "", "includes": {}, "excludes": {} },
        { "name": "getpid", "action": "SCMP_ACT_ALLOW", "args": null },
        { "names": ["cacheflush"], "action": "SCMP_ACT_ALLOW", "includes": { "arches": ["arm", "arm64"] } },
        { "names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13 }
      ]
    }`);
    const prog = compileProfile(loadProfileFile(path), { caps: [], kernel: KERNEL });
    expect(decide(prog, 'read').action).toBe('ALLOW');
    expect(decide(prog, 'getpid').action).toBe('ALLOW');
    expect(decide(prog, 'mkdir')).toMatchObject({ action: 'ERRNO', errno: 13 });
    expect(decide(prog, 'openat')).toMatchObject({ action: 'ERRNO', errno: 1 });
  });

  it('a denylist profile (defaultAction ALLOW) still kills x32 and i386 calls', () => {
    const path = writeProfile({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }],
    });
    const prog = compileProfile(loadProfileFile(path), { caps: [], kernel: KERNEL });
    expect(decide(prog, 'mkdir')).toMatchObject({ action: 'ERRNO', errno: 1 });
    expect(decide(prog, 'read').action).toBe('ALLOW');
    // without the x32 check, x32's mkdir (nr | 0x40000000) would slip past the denylist
    expect(evaluate(prog, { nr: 0x40000000 | nr('mkdir') }).action).toBe('KILL_PROCESS');
    expect(evaluate(prog, { nr: 39, arch: AUDIT_ARCH_I386 }).action).toBe('KILL_PROCESS'); // i386 mkdir
  });

  it('every action and TRACE data', () => {
    const path = writeProfile({
      defaultAction: 'SCMP_ACT_KILL_PROCESS',
      syscalls: [
        { names: ['read'], action: 'SCMP_ACT_ALLOW' },
        { names: ['write'], action: 'SCMP_ACT_LOG' },
        { names: ['open'], action: 'SCMP_ACT_TRAP' },
        { names: ['close'], action: 'SCMP_ACT_KILL' },
        { names: ['stat'], action: 'SCMP_ACT_KILL_THREAD' },
        { names: ['fstat'], action: 'SCMP_ACT_TRACE', errnoRet: 3 },
        { names: ['lstat'], action: 'SCMP_ACT_ERRNO', errnoRet: 2 },
      ],
    });
    const prog = compileProfile(loadProfileFile(path), { caps: [], kernel: KERNEL });
    expect(decide(prog, 'read').action).toBe('ALLOW');
    expect(decide(prog, 'write').action).toBe('LOG');
    expect(decide(prog, 'open').action).toBe('TRAP');
    expect(decide(prog, 'close').action).toBe('KILL_THREAD');
    expect(decide(prog, 'stat').action).toBe('KILL_THREAD');
    expect(decide(prog, 'fstat')).toMatchObject({ action: 'TRACE', data: 3 });
    expect(decide(prog, 'lstat')).toMatchObject({ action: 'ERRNO', errno: 2 });
    expect(decide(prog, 'mkdir').action).toBe('KILL_PROCESS');
  });
});

describe('64-bit argument comparisons', () => {
  const values = [
    0n,
    1n,
    39n,
    40n,
    41n,
    0xffffffffn,
    0x100000000n,
    0x100000027n,
    0x100000028n,
    0x100000029n,
    0x1ffffffffn,
    0x7fffffff00000000n,
    0xffffffff00000028n,
    0xffffffffffffffffn,
  ];
  const ref: Record<string, (a: bigint, v: bigint, w: bigint) => boolean> = {
    SCMP_CMP_EQ: (a, v) => a === v,
    SCMP_CMP_NE: (a, v) => a !== v,
    SCMP_CMP_LT: (a, v) => a < v,
    SCMP_CMP_LE: (a, v) => a <= v,
    SCMP_CMP_GT: (a, v) => a > v,
    SCMP_CMP_GE: (a, v) => a >= v,
    SCMP_CMP_MASKED_EQ: (a, v, w) => (a & v) === w,
  };
  for (const op of Object.keys(ref)) {
    it(`${op} agrees with BigInt arithmetic on both halves`, () => {
      for (const [v, w] of [
        [40n, 0n],
        [0x100000028n, 0x28n],
        [0xffffffffn, 0n],
        [0xffffffff00000000n, 0x100000000n],
      ] as const) {
        const profile: SeccompProfile = {
          defaultAction: 'SCMP_ACT_ERRNO',
          syscalls: [
            {
              names: ['ioctl'],
              action: 'SCMP_ACT_ALLOW',
              args: [{ index: 3, value: v, valueTwo: w, op: op as never }],
            },
          ],
        };
        const prog = compileProfile(profile, { caps: [], kernel: KERNEL });
        for (const a of values) {
          const got = evaluate(prog, { nr: nr('ioctl'), args: [0, 0, 0, a] }).action === 'ALLOW';
          expect(got, `${a} ${op} ${v}/${w}`).toBe(ref[op](a, v, w));
        }
      }
    });
  }

  it('conditions in one rule are ANDed; the same index twice means OR (as runc does)', () => {
    const and: SeccompProfile = {
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        {
          names: ['kill'],
          action: 'SCMP_ACT_ALLOW',
          args: [
            { index: 0, value: 1, op: 'SCMP_CMP_EQ' },
            { index: 1, value: 9, op: 'SCMP_CMP_EQ' },
          ],
        },
      ],
    };
    const p1 = compileProfile(and, { caps: [], kernel: KERNEL });
    expect(decide(p1, 'kill', [1, 9]).action).toBe('ALLOW');
    expect(decide(p1, 'kill', [1, 15]).action).toBe('ERRNO');
    expect(decide(p1, 'kill', [2, 9]).action).toBe('ERRNO');
    const or: SeccompProfile = {
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        {
          names: ['kill'],
          action: 'SCMP_ACT_ALLOW',
          args: [
            { index: 1, value: 9, op: 'SCMP_CMP_EQ' },
            { index: 1, value: 15, op: 'SCMP_CMP_EQ' },
          ],
        },
      ],
    };
    const p2 = compileProfile(or, { caps: [], kernel: KERNEL });
    expect(decide(p2, 'kill', [1, 9]).action).toBe('ALLOW');
    expect(decide(p2, 'kill', [1, 15]).action).toBe('ALLOW');
    expect(decide(p2, 'kill', [1, 2]).action).toBe('ERRNO');
  });

  it('a rule without args decides the calls no argument rule matches (as in libseccomp); conflicting ones are an error', () => {
    const p: SeccompProfile = {
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        { names: ['kill'], action: 'SCMP_ACT_ALLOW', args: [{ index: 1, value: 9, op: 'SCMP_CMP_EQ' }] },
        { names: ['kill'], action: 'SCMP_ACT_LOG' },
      ],
    };
    const prog = compileProfile(p, { caps: [], kernel: KERNEL });
    expect(decide(prog, 'kill', [1, 9]).action).toBe('ALLOW');
    expect(decide(prog, 'kill', [1, 15]).action).toBe('LOG');
    // argument rules with the fallback's own action change nothing: no argument checks are emitted
    const same: SeccompProfile = {
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        { names: ['kill'], action: 'SCMP_ACT_ALLOW', args: [{ index: 1, value: 9, op: 'SCMP_CMP_EQ' }] },
        { names: ['kill'], action: 'SCMP_ACT_ALLOW' },
      ],
    };
    expect(planProfile(same, { caps: [], kernel: KERNEL }).syscalls).toEqual([
      { nr: 62, name: 'kill', action: 0x7fff0000, rules: [] },
    ]);
    expect(decide(compileProfile(same, { caps: [], kernel: KERNEL }), 'kill', [1, 2]).action).toBe('ALLOW');
    const conflict: SeccompProfile = {
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        { names: ['read'], action: 'SCMP_ACT_ALLOW' },
        { names: ['read'], action: 'SCMP_ACT_KILL_PROCESS' },
      ],
    };
    expect(() => compileProfile(conflict, { caps: [], kernel: KERNEL, source: '/x.json' })).toThrow(
      /seccomp profile \/x\.json: syscall "read" has conflicting rules: syscalls\[0\] says ALLOW, syscalls\[1\] says KILL_PROCESS/,
    );
  });
});

describe('malformed profiles give one clear MinidockError naming the file', () => {
  const expectError = (content: unknown, pattern: RegExp): void => {
    const path = writeProfile(content);
    let err: unknown;
    try {
      loadProfileFile(path);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MinidockError);
    const e = err as MinidockError;
    expect(e.code).toBe(125);
    expect(e.message).toContain(`seccomp profile ${path}: `);
    expect(e.message).not.toContain('\n');
    expect(e.message).toMatch(pattern);
  };
  const base = (syscalls: unknown[]): unknown => ({ defaultAction: 'SCMP_ACT_ERRNO', syscalls });

  it('bad JSON', () => expectError('{ "defaultAction": "SCMP_ACT_ERRNO", ', /not valid JSON: /));
  it('not an object', () => expectError('[]', /top level must be a JSON object/));
  it('missing defaultAction', () => expectError({ syscalls: [] }, /defaultAction is missing/));
  it('unknown default action', () =>
    expectError({ defaultAction: 'SCMP_ACT_ALOW' }, /unknown action "SCMP_ACT_ALOW" in defaultAction/));
  it('unknown action', () =>
    expectError(base([{ names: ['read'], action: 'ALLOW' }]), /unknown action "ALLOW" in syscalls\[0\]\.action/));
  it('SCMP_ACT_NOTIFY', () => expectError(base([{ names: ['read'], action: 'SCMP_ACT_NOTIFY' }]), /SCMP_ACT_NOTIFY/));
  it('unknown op', () =>
    expectError(
      base([
        { names: ['read'], action: 'SCMP_ACT_ALLOW' },
        { names: ['kill'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQUAL' }] },
      ]),
      /unknown op "SCMP_CMP_EQUAL" in syscalls\[1\]\.args\[0\]\.op/,
    ));
  it('unknown syscall name', () => {
    const rules = ['read', 'write', 'close'].map((n) => ({ names: [n], action: 'SCMP_ACT_ALLOW' }));
    expectError(
      base([...rules, { names: ['open', 'mkdirx'], action: 'SCMP_ACT_ALLOW' }]),
      /unknown syscall "mkdirx" in syscalls\[3\]\.names$/,
    );
  });
  it('unknown name under an x86_64 include is an error too', () =>
    expectError(
      base([{ names: ['mkdirx'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['amd64'] } }]),
      /unknown syscall "mkdirx"/,
    ));
  it('args index > 5', () =>
    expectError(
      base([{ names: ['kill'], action: 'SCMP_ACT_ALLOW', args: [{ index: 6, value: 1, op: 'SCMP_CMP_EQ' }] }]),
      /syscalls\[0\]\.args\[0\]\.index must be 0\.\.5/,
    ));
  it('negative or huge value', () => {
    expectError(
      base([{ names: ['kill'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: -1, op: 'SCMP_CMP_EQ' }] }]),
      /args\[0\]\.value must be a non-negative integer/,
    );
    expectError(
      '{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["kill"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":18446744073709551615,"op":"SCMP_CMP_EQ"}]}]}',
      /larger than 2\^53-1/,
    );
  });
  it('errnoRet out of range, or with a non-errno action', () => {
    expectError(
      base([{ names: ['kill'], action: 'SCMP_ACT_ERRNO', errnoRet: 70000 }]),
      /syscalls\[0\]\.errnoRet must be an errno number/,
    );
    expectError(base([{ names: ['kill'], action: 'SCMP_ACT_ALLOW', errnoRet: 1 }]), /errnoRet is only meaningful/);
  });
  it('unknown keys (typos) are errors', () => {
    expectError({ defaultAction: 'SCMP_ACT_ERRNO', syscall: [] }, /unknown key "syscall" in the top level/);
    expectError(
      base([{ names: ['kill'], action: 'SCMP_ACT_ERRNO', errnoret: 1 }]),
      /unknown key "errnoret" in syscalls\[0\]/,
    );
  });
  it('unknown capability and architecture', () => {
    expectError(
      base([{ names: ['mount'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMN'] } }]),
      /unknown capability "CAP_SYS_ADMN" in syscalls\[0\]\.includes\.caps\[0\]/,
    );
    expectError(
      base([{ names: ['mount'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['amd46'] } }]),
      /unknown architecture "amd46"/,
    );
    expectError(
      { defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86_46'] },
      /unknown architecture "SCMP_ARCH_X86_46" in architectures\[0\]/,
    );
  });
  it('empty names', () =>
    expectError(base([{ names: [], action: 'SCMP_ACT_ALLOW' }]), /syscalls\[0\] has no syscall names/));
  it('missing file', () => {
    const path = join(tmp, 'does-not-exist.json');
    expect(() => loadProfileFile(path)).toThrow(new RegExp(`seccomp profile ${path}: cannot read it \\(ENOENT\\)`));
  });
});
