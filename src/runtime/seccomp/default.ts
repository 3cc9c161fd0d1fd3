// minidock's default seccomp profile: Docker's default (moby profiles/seccomp/default.json, as of
// moby v26, which added cachestat, fchmodat2, futex_wake/wait/requeue and map_shadow_stack), kept in
// Docker's own JSON shape so that `JSON.stringify(DEFAULT_PROFILE)` is a valid --security-opt file.
//
// The idea: an allowlist. Everything not listed fails with EPERM (defaultAction SCMP_ACT_ERRNO,
// defaultErrnoRet 1). What stays out, and why:
//   mount, umount2, unshare, setns, pivot_root ... change the container's view of the system; allowed
//                              only with CAP_SYS_ADMIN (then the container is privileged anyway);
//   keyctl, add_key, request_key   the kernel keyring is not namespaced;
//   bpf, perf_event_open       large kernel attack surface, can read kernel memory (CAP_BPF/PERFMON);
//   kexec_load, reboot, init_module, swapon, acct ... act on the whole machine;
//   open_by_handle_at          the "shocker" container escape (CAP_DAC_READ_SEARCH);
//   clone with CLONE_NEW* flags, clone3   new namespaces only with CAP_SYS_ADMIN. clone3 passes its
//                              flags in a struct that seccomp cannot read (it sees only a pointer), so
//                              it is refused with ENOSYS, which makes glibc fall back to clone().
//   io_uring_setup, io_uring_enter, io_uring_register   removed by Docker 25 and containerd 2.0 from
//                              their defaults: a long history of kernel bugs, and its operations run in
//                              kernel workers that seccomp never sees.
//   ioctl TIOCSTI, TIOCLINUX   not Docker's: minidock's own additions. TIOCSTI pushes bytes into a
//                              terminal's input queue: a container given the user's terminal could type
//                              commands into the user's shell, which runs them after minidock exits
//                              (CVE-2017-5226 for bubblewrap). Kernels since 6.2 can refuse it
//                              themselves (CONFIG_LEGACY_TIOCSTI=n), older ones and many builds do not.
//                              TIOCLINUX's copy and paste on a virtual console does the same
//                              (CVE-2023-28100 for Flatpak).
//
// The list names syscalls of every architecture Docker supports (chown32, _llseek, mmap2 are i386/arm
// names): minidock skips names x86_64 does not have, like libseccomp does.

import type { SeccompProfile } from './profile.js';

const ALLOWED: string[] = [
    'accept', 'accept4', 'access', 'adjtimex', 'alarm', 'bind', 'brk', 'cachestat', 'capget',
    'capset', 'chdir', 'chmod', 'chown', 'chown32', 'clock_adjtime', 'clock_adjtime64',
    'clock_getres', 'clock_getres_time64', 'clock_gettime', 'clock_gettime64', 'clock_nanosleep',
    'clock_nanosleep_time64', 'close', 'close_range', 'connect', 'copy_file_range', 'creat', 'dup',
    'dup2', 'dup3', 'epoll_create', 'epoll_create1', 'epoll_ctl', 'epoll_ctl_old', 'epoll_pwait',
    'epoll_pwait2', 'epoll_wait', 'epoll_wait_old', 'eventfd', 'eventfd2', 'execve', 'execveat',
    'exit', 'exit_group', 'faccessat', 'faccessat2', 'fadvise64', 'fadvise64_64', 'fallocate',
    'fanotify_mark', 'fchdir', 'fchmod', 'fchmodat', 'fchmodat2', 'fchown', 'fchown32', 'fchownat',
    'fcntl', 'fcntl64', 'fdatasync', 'fgetxattr', 'flistxattr', 'flock', 'fork', 'fremovexattr',
    'fsetxattr', 'fstat', 'fstat64', 'fstatat64', 'fstatfs', 'fstatfs64', 'fsync', 'ftruncate',
    'ftruncate64', 'futex', 'futex_requeue', 'futex_time64', 'futex_wait', 'futex_waitv',
    'futex_wake', 'futimesat', 'getcpu', 'getcwd', 'getdents', 'getdents64', 'getegid',
    'getegid32', 'geteuid', 'geteuid32', 'getgid', 'getgid32', 'getgroups', 'getgroups32',
    'getitimer', 'getpeername', 'getpgid', 'getpgrp', 'getpid', 'getppid', 'getpriority',
    'getrandom', 'getresgid', 'getresgid32', 'getresuid', 'getresuid32', 'getrlimit',
    'get_robust_list', 'getrusage', 'getsid', 'getsockname', 'getsockopt', 'get_thread_area',
    'gettid', 'gettimeofday', 'getuid', 'getuid32', 'getxattr', 'inotify_add_watch',
    'inotify_init', 'inotify_init1', 'inotify_rm_watch', 'io_cancel', 'ioctl', 'io_destroy',
    'io_getevents', 'io_pgetevents', 'io_pgetevents_time64', 'ioprio_get', 'ioprio_set',
    'io_setup', 'io_submit', 'ipc',
    'kill', 'landlock_add_rule', 'landlock_create_ruleset', 'landlock_restrict_self', 'lchown',
    'lchown32', 'lgetxattr', 'link', 'linkat', 'listen', 'listxattr', 'llistxattr', '_llseek',
    'lremovexattr', 'lseek', 'lsetxattr', 'lstat', 'lstat64', 'madvise', 'map_shadow_stack',
    'membarrier', 'memfd_create', 'memfd_secret', 'mincore', 'mkdir', 'mkdirat', 'mknod',
    'mknodat', 'mlock', 'mlock2', 'mlockall', 'mmap', 'mmap2', 'mprotect', 'mq_getsetattr',
    'mq_notify', 'mq_open', 'mq_timedreceive', 'mq_timedreceive_time64', 'mq_timedsend',
    'mq_timedsend_time64', 'mq_unlink', 'mremap', 'msgctl', 'msgget', 'msgrcv', 'msgsnd', 'msync',
    'munlock', 'munlockall', 'munmap', 'name_to_handle_at', 'nanosleep', 'newfstatat',
    '_newselect', 'open', 'openat', 'openat2', 'pause', 'pidfd_open', 'pidfd_send_signal', 'pipe',
    'pipe2', 'pkey_alloc', 'pkey_free', 'pkey_mprotect', 'poll', 'ppoll', 'ppoll_time64', 'prctl',
    'pread64', 'preadv', 'preadv2', 'prlimit64', 'process_mrelease', 'pselect6', 'pselect6_time64',
    'pwrite64', 'pwritev', 'pwritev2', 'read', 'readahead', 'readlink', 'readlinkat', 'readv',
    'recv', 'recvfrom', 'recvmmsg', 'recvmmsg_time64', 'recvmsg', 'remap_file_pages',
    'removexattr', 'rename', 'renameat', 'renameat2', 'restart_syscall', 'rmdir', 'rseq',
    'rt_sigaction', 'rt_sigpending', 'rt_sigprocmask', 'rt_sigqueueinfo', 'rt_sigreturn',
    'rt_sigsuspend', 'rt_sigtimedwait', 'rt_sigtimedwait_time64', 'rt_tgsigqueueinfo',
    'sched_getaffinity', 'sched_getattr', 'sched_getparam', 'sched_get_priority_max',
    'sched_get_priority_min', 'sched_getscheduler', 'sched_rr_get_interval',
    'sched_rr_get_interval_time64', 'sched_setaffinity', 'sched_setattr', 'sched_setparam',
    'sched_setscheduler', 'sched_yield', 'seccomp', 'select', 'semctl', 'semget', 'semop',
    'semtimedop', 'semtimedop_time64', 'send', 'sendfile', 'sendfile64', 'sendmmsg', 'sendmsg',
    'sendto', 'setfsgid', 'setfsgid32', 'setfsuid', 'setfsuid32', 'setgid', 'setgid32',
    'setgroups', 'setgroups32', 'setitimer', 'setpgid', 'setpriority', 'setregid', 'setregid32',
    'setresgid', 'setresgid32', 'setresuid', 'setresuid32', 'setreuid', 'setreuid32', 'setrlimit',
    'set_robust_list', 'setsid', 'setsockopt', 'set_thread_area', 'set_tid_address', 'setuid',
    'setuid32', 'setxattr', 'shmat', 'shmctl', 'shmdt', 'shmget', 'shutdown', 'sigaltstack',
    'signalfd', 'signalfd4', 'sigprocmask', 'sigreturn', 'socketcall', 'socketpair', 'splice',
    'stat', 'stat64', 'statfs', 'statfs64', 'statx', 'symlink', 'symlinkat', 'sync',
    'sync_file_range', 'syncfs', 'sysinfo', 'tee', 'tgkill', 'time', 'timer_create',
    'timer_delete', 'timer_getoverrun', 'timer_gettime', 'timer_gettime64', 'timer_settime',
    'timer_settime64', 'timerfd_create', 'timerfd_gettime', 'timerfd_gettime64', 'timerfd_settime',
    'timerfd_settime64', 'times', 'tkill', 'truncate', 'truncate64', 'ugetrlimit', 'umask',
    'uname', 'unlink', 'unlinkat', 'utime', 'utimensat', 'utimensat_time64', 'utimes', 'vfork',
    'vmsplice', 'wait4', 'waitid', 'waitpid', 'write', 'writev',
];

/** personality(2) personas a container may switch to: PER_LINUX (0), PER_LINUX32 (8),
 *  UNAME26 (0x20000), PER_LINUX32|UNAME26, and 0xffffffff, which only queries the current one. */
const PERSONALITIES = [0, 8, 131072, 131080, 4294967295];

/** The terminal ioctls refused (asm-generic/ioctls.h). */
export const TIOCSTI = 0x5412;
export const TIOCLINUX = 0x541c;

/** CLONE_NEWNS|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWUSER|CLONE_NEWPID|CLONE_NEWNET|CLONE_NEWCGROUP */
export const CLONE_NAMESPACE_FLAGS = 0x7e020000; // = 2114060288

export const DEFAULT_PROFILE: SeccompProfile = {
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: 1,
  archMap: [
    { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
    { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
    { architecture: 'SCMP_ARCH_MIPS64', subArchitectures: ['SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64N32'] },
    { architecture: 'SCMP_ARCH_MIPS64N32', subArchitectures: ['SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64'] },
    { architecture: 'SCMP_ARCH_MIPSEL64', subArchitectures: ['SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64N32'] },
    { architecture: 'SCMP_ARCH_MIPSEL64N32', subArchitectures: ['SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64'] },
    { architecture: 'SCMP_ARCH_S390X', subArchitectures: ['SCMP_ARCH_S390'] },
    { architecture: 'SCMP_ARCH_RISCV64', subArchitectures: null },
  ],
  syscalls: [
    { names: ALLOWED, action: 'SCMP_ACT_ALLOW' },
    // ioctl's request is an `unsigned int`: the kernel ignores the upper 32 bits of the register, so
    // the filter compares the lower 32 only (an `== 0x5412` on all 64 would let 0x100005412 through,
    // CVE-2019-7303). These rules are tried before the plain ALLOW of ioctl in ALLOWED (compile.ts).
    ...[TIOCSTI, TIOCLINUX].map((request) => ({
      names: ['ioctl'],
      action: 'SCMP_ACT_ERRNO' as const,
      errnoRet: 1,
      args: [{ index: 1, value: 0xffffffff, valueTwo: request, op: 'SCMP_CMP_MASKED_EQ' as const }],
    })),
    // ptrace is safe to allow since linux 4.8, which closed the seccomp bypass through ptrace.
    { names: ['process_vm_readv', 'process_vm_writev', 'ptrace'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '4.8' } },
    // socket(AF_VSOCK = 40, ...) is refused: vsock talks to the hypervisor, not namespaced.
    { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 40, op: 'SCMP_CMP_NE' }] },
    ...PERSONALITIES.map((p) => ({
      names: ['personality'],
      action: 'SCMP_ACT_ALLOW' as const,
      args: [{ index: 0, value: p, op: 'SCMP_CMP_EQ' as const }],
    })),
    // Architecture-specific syscalls (only arch_prctl and modify_ldt apply on x86_64).
    { names: ['sync_file_range2', 'swapcontext'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['ppc64le'] } },
    {
      names: ['arm_fadvise64_64', 'arm_sync_file_range', 'sync_file_range2', 'breakpoint', 'cacheflush', 'set_tls'],
      action: 'SCMP_ACT_ALLOW',
      includes: { arches: ['arm', 'arm64'] },
    },
    { names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['amd64', 'x32'] } },
    { names: ['modify_ldt'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['amd64', 'x32', 'x86'] } },
    { names: ['s390_pci_mmio_read', 's390_pci_mmio_write', 's390_runtime_instr'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['s390', 's390x'] } },
    { names: ['riscv_flush_icache'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['riscv64'] } },
    // Capability-conditional sections: a syscall whose only use needs a capability is allowed when the
    // container holds that capability.
    { names: ['open_by_handle_at'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_DAC_READ_SEARCH'] } },
    {
      names: [
        'bpf', 'clone', 'clone3', 'fanotify_init', 'fsconfig', 'fsmount', 'fsopen', 'fspick', 'lookup_dcookie',
        'mount', 'mount_setattr', 'move_mount', 'open_tree', 'perf_event_open', 'quotactl', 'quotactl_fd',
        'setdomainname', 'sethostname', 'setns', 'syslog', 'umount', 'umount2', 'unshare',
      ],
      action: 'SCMP_ACT_ALLOW',
      includes: { caps: ['CAP_SYS_ADMIN'] },
    },
    // Without CAP_SYS_ADMIN, clone() is allowed only if it creates no namespace:
    // (flags & CLONE_NAMESPACE_FLAGS) == 0.
    {
      names: ['clone'],
      action: 'SCMP_ACT_ALLOW',
      args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, op: 'SCMP_CMP_MASKED_EQ' }],
      excludes: { caps: ['CAP_SYS_ADMIN'], arches: ['s390', 's390x'] },
    },
    {
      names: ['clone'],
      action: 'SCMP_ACT_ALLOW',
      args: [{ index: 1, value: CLONE_NAMESPACE_FLAGS, op: 'SCMP_CMP_MASKED_EQ' }],
      comment: 's390 parameter ordering for clone is different',
      includes: { arches: ['s390', 's390x'] },
      excludes: { caps: ['CAP_SYS_ADMIN'] },
    },
    // clone3's flags live in memory seccomp cannot inspect: answer ENOSYS so libc falls back to clone.
    { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38, excludes: { caps: ['CAP_SYS_ADMIN'] } },
    { names: ['reboot'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_BOOT'] } },
    { names: ['chroot'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_CHROOT'] } },
    { names: ['delete_module', 'init_module', 'finit_module'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_MODULE'] } },
    { names: ['acct'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_PACCT'] } },
    {
      names: ['kcmp', 'pidfd_getfd', 'process_madvise', 'process_vm_readv', 'process_vm_writev', 'ptrace'],
      action: 'SCMP_ACT_ALLOW',
      includes: { caps: ['CAP_SYS_PTRACE'] },
    },
    { names: ['iopl', 'ioperm'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_RAWIO'] } },
    { names: ['settimeofday', 'stime', 'clock_settime', 'clock_settime64'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_TIME'] } },
    { names: ['vhangup'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_TTY_CONFIG'] } },
    { names: ['get_mempolicy', 'mbind', 'set_mempolicy', 'set_mempolicy_home_node'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_NICE'] } },
    { names: ['syslog'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYSLOG'] } },
    { names: ['bpf'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_BPF'] } },
    { names: ['perf_event_open'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_PERFMON'] } },
  ],
};
