// What a seccomp filter returns, and the architecture numbers it compares against.
//
// A seccomp filter runs on every system call and ends with `ret <value>`. The top 16 bits of the value
// are the action (SECCOMP_RET_ACTION_FULL), the low 16 bits are data for the action
// (SECCOMP_RET_DATA), e.g. the errno to fail with. Values from linux/seccomp.h:

import { errnoName } from '../../sys/errno.js';

/** Kill the whole process (all threads), as if by SIGSYS that cannot be caught. Since linux 4.14. */
export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
/** Kill only the calling thread. The value 0, so an all-zero `ret` kills: a safe default. */
export const SECCOMP_RET_KILL_THREAD = 0x00000000;
/** Send SIGSYS to the thread (catchable: the handler sees which syscall it was). */
export const SECCOMP_RET_TRAP = 0x00030000;
/** Do not run the syscall; make it return -data (an errno) instead. */
export const SECCOMP_RET_ERRNO = 0x00050000;
/** Hand the decision to a user-space supervisor through a notification fd. Not used by minidock. */
export const SECCOMP_RET_USER_NOTIF = 0x7fc00000;
/** Stop for a ptrace tracer (PTRACE_EVENT_SECCOMP, data as the event message). With no tracer
 *  attached the kernel fails the syscall with ENOSYS. */
export const SECCOMP_RET_TRACE = 0x7ff00000;
/** Run the syscall, and log it to the audit log. */
export const SECCOMP_RET_LOG = 0x7ffc0000;
/** Run the syscall. */
export const SECCOMP_RET_ALLOW = 0x7fff0000;

export const SECCOMP_RET_ACTION_FULL = 0xffff0000;
export const SECCOMP_RET_DATA = 0x0000ffff;

/** `struct seccomp_data.arch` values (linux/audit.h): the ABI the syscall was made through. */
export const AUDIT_ARCH_X86_64 = 0xc000003e;
export const AUDIT_ARCH_I386 = 0x40000003;
export const AUDIT_ARCH_AARCH64 = 0xc00000b7;
export const AUDIT_ARCH_ARM = 0x40000028;
export const AUDIT_ARCH_RISCV64 = 0xc00000f3;
export const AUDIT_ARCH_PPC64LE = 0xc0000015;
export const AUDIT_ARCH_PPC64 = 0x80000015;
export const AUDIT_ARCH_S390X = 0x80000016;

/** AUDIT_ARCH_* value -> name, for listings. */
export const AUDIT_ARCH_NAMES: ReadonlyMap<number, string> = new Map([
  [AUDIT_ARCH_X86_64, 'AUDIT_ARCH_X86_64'],
  [AUDIT_ARCH_I386, 'AUDIT_ARCH_I386'],
  [AUDIT_ARCH_AARCH64, 'AUDIT_ARCH_AARCH64'],
  [AUDIT_ARCH_ARM, 'AUDIT_ARCH_ARM'],
  [AUDIT_ARCH_RISCV64, 'AUDIT_ARCH_RISCV64'],
  [AUDIT_ARCH_PPC64LE, 'AUDIT_ARCH_PPC64LE'],
  [AUDIT_ARCH_PPC64, 'AUDIT_ARCH_PPC64'],
  [AUDIT_ARCH_S390X, 'AUDIT_ARCH_S390X'],
]);

/**
 * On x86_64 the x32 ABI (32-bit pointers, 64-bit registers) enters the kernel through the same
 * `syscall` instruction and reports the same AUDIT_ARCH_X86_64, but sets this bit in the syscall
 * number (__X32_SYSCALL_BIT). A filter that only compares numbers would see x32's `nr | 0x40000000`,
 * match none of its rules and fall to the default action, so it must test the bit explicitly.
 */
export const X32_SYSCALL_BIT = 0x40000000;

export type ActionName = 'ALLOW' | 'ERRNO' | 'KILL_PROCESS' | 'KILL_THREAD' | 'TRAP' | 'LOG' | 'TRACE' | 'USER_NOTIF';

export interface DecodedAction {
  action: ActionName;
  /** For ERRNO: the errno the syscall fails with. */
  errno?: number;
  /** For TRACE/TRAP: the 16-bit data. */
  data?: number;
  /** The 32-bit value the filter returned. */
  raw: number;
}

/**
 * Split a filter's return value into action and data, the way the kernel does. A value with an
 * unknown action is treated as KILL_PROCESS, as the kernel does.
 */
export function decodeAction(raw: number): DecodedAction {
  raw = raw >>> 0;
  const data = raw & SECCOMP_RET_DATA;
  switch ((raw & SECCOMP_RET_ACTION_FULL) >>> 0) {
    case SECCOMP_RET_KILL_PROCESS:
      return { action: 'KILL_PROCESS', raw };
    case SECCOMP_RET_KILL_THREAD:
      return { action: 'KILL_THREAD', raw };
    case SECCOMP_RET_TRAP:
      return { action: 'TRAP', data, raw };
    case SECCOMP_RET_ERRNO:
      return { action: 'ERRNO', errno: data, raw };
    case SECCOMP_RET_USER_NOTIF:
      return { action: 'USER_NOTIF', raw };
    case SECCOMP_RET_TRACE:
      return { action: 'TRACE', data, raw };
    case SECCOMP_RET_LOG:
      return { action: 'LOG', raw };
    case SECCOMP_RET_ALLOW:
      return { action: 'ALLOW', raw };
    default:
      return { action: 'KILL_PROCESS', raw };
  }
}

/** A readable form of a return value: `ALLOW`, `ERRNO(EPERM)`, `TRACE(1)`, `KILL_PROCESS`. */
export function formatAction(raw: number): string {
  const decoded = decodeAction(raw);
  switch (decoded.action) {
    case 'ERRNO': {
      const name = errnoName(decoded.errno!);
      return name.startsWith('errno ') ? `ERRNO(${decoded.errno})` : `ERRNO(${name})`;
    }
    case 'TRACE':
    case 'TRAP':
      return decoded.data ? `${decoded.action}(${decoded.data})` : decoded.action;
    default:
      return decoded.action;
  }
}
