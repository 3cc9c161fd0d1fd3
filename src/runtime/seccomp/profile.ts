// Docker's seccomp profile format (JSON), and a strict reader for it.
//
// The format (moby profiles/seccomp, also used by Podman and the OCI spec's linux.seccomp) is an
// allowlist or denylist of syscall *names* with an action each:
//
//   { "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
//     "syscalls": [ { "names": ["read", "write"], "action": "SCMP_ACT_ALLOW" },
//                   { "names": ["clone"], "action": "SCMP_ACT_ALLOW",
//                     "args": [ { "index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ" } ],
//                     "excludes": { "caps": ["CAP_SYS_ADMIN"] } } ] }
//
// Every problem is reported as a MinidockError (exit 125) with one line naming the file and the
// exact place, e.g. `seccomp profile /x.json: unknown syscall "mkdirx" in syscalls[3].names`.

import { readFileSync } from 'node:fs';
import { MinidockError } from '../../errors.js';
import { OTHER_ARCH_SYSCALLS, syscallNumber } from './syscalls-x86_64.js';
import { CAPS, normalizeCap } from '../capabilities.js';

export type SeccompActionName =
  | 'SCMP_ACT_ALLOW'
  | 'SCMP_ACT_ERRNO'
  | 'SCMP_ACT_KILL'
  | 'SCMP_ACT_KILL_THREAD'
  | 'SCMP_ACT_KILL_PROCESS'
  | 'SCMP_ACT_TRAP'
  | 'SCMP_ACT_LOG'
  | 'SCMP_ACT_TRACE';

export const SECCOMP_ACTIONS: readonly SeccompActionName[] = [
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_LOG',
  'SCMP_ACT_TRACE',
];

/** Argument comparisons. All compare the full 64-bit argument, unsigned. */
export type SeccompOp =
  | 'SCMP_CMP_NE' // arg != value
  | 'SCMP_CMP_LT' // arg <  value
  | 'SCMP_CMP_LE' // arg <= value
  | 'SCMP_CMP_EQ' // arg == value
  | 'SCMP_CMP_GE' // arg >= value
  | 'SCMP_CMP_GT' // arg >  value
  | 'SCMP_CMP_MASKED_EQ'; // (arg & value) == valueTwo

export const SECCOMP_OPS: readonly SeccompOp[] = [
  'SCMP_CMP_NE',
  'SCMP_CMP_LT',
  'SCMP_CMP_LE',
  'SCMP_CMP_EQ',
  'SCMP_CMP_GE',
  'SCMP_CMP_GT',
  'SCMP_CMP_MASKED_EQ',
];

export interface SeccompArg {
  /** Which syscall argument, 0..5. */
  index: number;
  value: number | bigint;
  /** Only for SCMP_CMP_MASKED_EQ: the value `arg & value` must equal (default 0). */
  valueTwo?: number | bigint;
  op: SeccompOp;
}

export interface SeccompFilter {
  /** Capability names (CAP_SYS_ADMIN): includes: all must be held; excludes: none may be held. */
  caps?: string[];
  /** Architectures in Go's spelling, as Docker writes them: amd64, x86, x32, arm64, s390x, ... */
  arches?: string[];
  /** includes only: the rule applies on kernels at least this version ("4.8"). */
  minKernel?: string;
}

export interface SeccompSyscall {
  names: string[];
  action: SeccompActionName;
  /** For SCMP_ACT_ERRNO (the errno, default EPERM) and SCMP_ACT_TRACE (the tracer's message). */
  errnoRet?: number;
  /** All conditions must hold (AND). */
  args?: SeccompArg[];
  comment?: string;
  includes?: SeccompFilter;
  excludes?: SeccompFilter;
}

export interface SeccompArchMap {
  architecture: string;
  subArchitectures?: string[] | null;
}

export interface SeccompProfile {
  defaultAction: SeccompActionName;
  defaultErrnoRet?: number;
  architectures?: string[];
  archMap?: SeccompArchMap[];
  /** SECCOMP_FILTER_FLAG_* names to pass to seccomp(2). */
  flags?: string[];
  syscalls?: SeccompSyscall[];
}

/** libseccomp's architecture tokens (for `architectures` and `archMap`). */
export const SCMP_ARCHES: readonly string[] = [
  'SCMP_ARCH_NATIVE', 'SCMP_ARCH_X86', 'SCMP_ARCH_X86_64', 'SCMP_ARCH_X32', 'SCMP_ARCH_ARM',
  'SCMP_ARCH_AARCH64', 'SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64', 'SCMP_ARCH_MIPS64N32',
  'SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64', 'SCMP_ARCH_MIPSEL64N32', 'SCMP_ARCH_PPC',
  'SCMP_ARCH_PPC64', 'SCMP_ARCH_PPC64LE', 'SCMP_ARCH_S390', 'SCMP_ARCH_S390X', 'SCMP_ARCH_PARISC',
  'SCMP_ARCH_PARISC64', 'SCMP_ARCH_RISCV64', 'SCMP_ARCH_LOONGARCH64', 'SCMP_ARCH_M68K',
  'SCMP_ARCH_SH', 'SCMP_ARCH_SHEB',
];

/** Architecture names used in includes/excludes (Go's GOARCH spelling plus Docker's extras). */
export const FILTER_ARCHES: readonly string[] = [
  'amd64', 'x86_64', 'x86', '386', 'x32', 'arm', 'arm64', 'aarch64', 'mips', 'mipsle', 'mipsel',
  'mips64', 'mips64le', 'mips64n32', 'mips64len32', 'mipsel64', 'mipsel64n32', 'ppc', 'ppc64',
  'ppc64le', 's390', 's390x', 'riscv64', 'loong64', 'loongarch64', 'parisc', 'parisc64',
];

/** The names that mean "this machine" (x86_64) in includes/excludes arches. */
export const NATIVE_FILTER_ARCHES: readonly string[] = ['amd64', 'x86_64'];

export const SECCOMP_FLAGS: readonly string[] = [
  'SECCOMP_FILTER_FLAG_TSYNC',
  'SECCOMP_FILTER_FLAG_LOG',
  'SECCOMP_FILTER_FLAG_SPEC_ALLOW',
  'SECCOMP_FILTER_FLAG_TSYNC_ESRCH',
  'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV',
];

/** The largest errno a filter can return (the kernel's MAX_ERRNO). */
export const MAX_ERRNO = 4095;

/** Does a rule apply on x86_64, judging by its arch filters only? */
export function appliesToNativeArch(s: SeccompSyscall): boolean {
  const inc = s.includes?.arches ?? [];
  const exc = s.excludes?.arches ?? [];
  if (inc.length > 0 && !inc.some((a) => NATIVE_FILTER_ARCHES.includes(a))) return false;
  return !exc.some((a) => NATIVE_FILTER_ARCHES.includes(a));
}

/** Read and validate a profile file. Every problem throws a MinidockError naming the file. */
export function loadProfileFile(path: string): SeccompProfile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new MinidockError(`seccomp profile ${path}: cannot read it (${e.code ?? e.message})`);
  }
  return parseProfile(text, path);
}

/** Parse and validate profile JSON text; `source` names it in errors (a path, or "<builtin>"). */
export function parseProfile(text: string, source: string): SeccompProfile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new MinidockError(`seccomp profile ${source}: not valid JSON: ${(err as Error).message}`);
  }
  return validateProfile(json, source);
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown): string => (typeof v === 'bigint' ? `${v}` : JSON.stringify(v) ?? String(v));

/**
 * Check that `json` is a well-formed profile and return it as a SeccompProfile (a cleaned copy:
 * `name` folded into `names`, capability names normalized to CAP_*). Unknown keys are errors, so
 * that a typo like "errnoret" does not silently change the meaning of a profile.
 */
export function validateProfile(json: unknown, source: string): SeccompProfile {
  const bad = (msg: string): never => {
    throw new MinidockError(`seccomp profile ${source}: ${msg}`);
  };
  const keys = (o: Obj, allowed: readonly string[], where: string): void => {
    for (const k of Object.keys(o)) {
      if (!allowed.includes(k)) bad(`unknown key "${k}" in ${where} (expected one of: ${allowed.join(', ')})`);
    }
  };
  const strings = (v: unknown, where: string): string[] => {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) return bad(`${where} must be a list of strings`);
    return v as string[];
  };
  const errno = (v: unknown, where: string): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_ERRNO) return bad(`${where} must be an errno number 0..${MAX_ERRNO}, got ${show(v)}`);
    return v;
  };
  const action = (v: unknown, where: string): SeccompActionName => {
    if (v === 'SCMP_ACT_NOTIFY') return bad(`${where}: SCMP_ACT_NOTIFY needs a seccomp agent, which minidock does not support`);
    if (typeof v !== 'string' || !(SECCOMP_ACTIONS as readonly string[]).includes(v)) return bad(`unknown action ${show(v)} in ${where} (expected one of: ${SECCOMP_ACTIONS.join(', ')})`);
    return v as SeccompActionName;
  };
  const u64 = (v: unknown, where: string): number | bigint => {
    if (typeof v === 'bigint') {
      if (v < 0n || v > 0xffffffffffffffffn) return bad(`${where} must be an unsigned 64-bit number, got ${v}`);
      return v;
    }
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) return bad(`${where} must be a non-negative integer, got ${show(v)}`);
    if (!Number.isSafeInteger(v)) return bad(`${where} = ${v} is larger than 2^53-1, which JSON numbers cannot hold exactly here`);
    return v;
  };
  const filter = (v: unknown, where: string, allowMinKernel: boolean): SeccompFilter | undefined => {
    if (v === undefined || v === null) return undefined;
    if (!isObj(v)) return bad(`${where} must be an object`);
    keys(v, allowMinKernel ? ['caps', 'arches', 'minKernel'] : ['caps', 'arches'], where);
    const out: SeccompFilter = {};
    const caps = strings(v.caps, `${where}.caps`);
    caps.forEach((c, i) => {
      if (!(CAPS as readonly string[]).includes(normalizeCap(c))) bad(`unknown capability "${c}" in ${where}.caps[${i}]`);
    });
    if (caps.length) out.caps = caps.map(normalizeCap);
    const arches = strings(v.arches, `${where}.arches`);
    arches.forEach((a, i) => {
      if (!FILTER_ARCHES.includes(a)) bad(`unknown architecture "${a}" in ${where}.arches[${i}] (expected e.g. amd64, arm64, x86, x32, s390x)`);
    });
    if (arches.length) out.arches = arches;
    if (v.minKernel !== undefined && v.minKernel !== null && v.minKernel !== '') {
      if (typeof v.minKernel !== 'string' || !/^\d+(\.\d+)?$/.test(v.minKernel)) bad(`${where}.minKernel must be a kernel version like "4.8", got ${show(v.minKernel)}`);
      out.minKernel = v.minKernel as string;
    }
    return Object.keys(out).length ? out : undefined;
  };

  if (!isObj(json)) return bad('the top level must be a JSON object');
  keys(json, ['defaultAction', 'defaultErrnoRet', 'architectures', 'archMap', 'flags', 'syscalls', 'listenerPath', 'listenerMetadata', 'comment'], 'the top level');
  if (json.listenerPath !== undefined && json.listenerPath !== '') bad('listenerPath (a seccomp agent) is not supported by minidock');
  if (json.defaultAction === undefined) bad('defaultAction is missing');
  const profile: SeccompProfile = { defaultAction: action(json.defaultAction, 'defaultAction') };
  if (json.defaultErrnoRet !== undefined && json.defaultErrnoRet !== null) profile.defaultErrnoRet = errno(json.defaultErrnoRet, 'defaultErrnoRet');

  const arches = strings(json.architectures, 'architectures');
  arches.forEach((a, i) => {
    if (!SCMP_ARCHES.includes(a)) bad(`unknown architecture "${a}" in architectures[${i}]`);
  });
  if (json.architectures !== undefined) profile.architectures = arches;
  if (json.archMap !== undefined && json.archMap !== null) {
    if (!Array.isArray(json.archMap)) bad('archMap must be a list');
    profile.archMap = (json.archMap as unknown[]).map((m, i) => {
      const where = `archMap[${i}]`;
      if (!isObj(m)) return bad(`${where} must be an object`);
      keys(m, ['architecture', 'subArchitectures'], where);
      if (typeof m.architecture !== 'string' || !SCMP_ARCHES.includes(m.architecture)) bad(`unknown architecture ${show(m.architecture)} in ${where}.architecture`);
      const subs = strings(m.subArchitectures, `${where}.subArchitectures`);
      subs.forEach((a, j) => {
        if (!SCMP_ARCHES.includes(a)) bad(`unknown architecture "${a}" in ${where}.subArchitectures[${j}]`);
      });
      return { architecture: m.architecture as string, subArchitectures: m.subArchitectures === null ? null : subs };
    });
  }
  const flags = strings(json.flags, 'flags');
  flags.forEach((f, i) => {
    if (!SECCOMP_FLAGS.includes(f)) bad(`unknown flag "${f}" in flags[${i}] (expected one of: ${SECCOMP_FLAGS.join(', ')})`);
  });
  if (flags.length) profile.flags = flags;

  if (json.syscalls !== undefined && json.syscalls !== null && !Array.isArray(json.syscalls)) bad('syscalls must be a list');
  const list = (json.syscalls ?? []) as unknown[];
  profile.syscalls = list.map((s, i): SeccompSyscall => {
    const where = `syscalls[${i}]`;
    if (!isObj(s)) return bad(`${where} must be an object`);
    keys(s, ['names', 'name', 'action', 'errnoRet', 'args', 'comment', 'includes', 'excludes'], where);
    let names = strings(s.names, `${where}.names`);
    if (typeof s.name === 'string') names = [s.name, ...names]; // the old single-name form
    else if (s.name !== undefined) bad(`${where}.name must be a string`);
    if (names.length === 0) bad(`${where} has no syscall names`);
    if (s.action === undefined) bad(`${where}.action is missing`);
    const rule: SeccompSyscall = { names, action: action(s.action, `${where}.action`) };
    if (s.errnoRet !== undefined && s.errnoRet !== null) {
      if (rule.action !== 'SCMP_ACT_ERRNO' && rule.action !== 'SCMP_ACT_TRACE') bad(`${where}.errnoRet is only meaningful with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not ${rule.action}`);
      rule.errnoRet = errno(s.errnoRet, `${where}.errnoRet`);
    }
    if (typeof s.comment === 'string' && s.comment) rule.comment = s.comment;
    if (s.args !== undefined && s.args !== null) {
      if (!Array.isArray(s.args)) bad(`${where}.args must be a list`);
      const args = (s.args as unknown[]).map((a, j): SeccompArg => {
        const w = `${where}.args[${j}]`;
        if (!isObj(a)) return bad(`${w} must be an object`);
        keys(a, ['index', 'value', 'valueTwo', 'op'], w);
        if (typeof a.index !== 'number' || !Number.isInteger(a.index) || a.index < 0 || a.index > 5) bad(`${w}.index must be 0..5 (a syscall has at most 6 arguments), got ${show(a.index)}`);
        if (typeof a.op !== 'string' || !(SECCOMP_OPS as readonly string[]).includes(a.op)) bad(`unknown op ${show(a.op)} in ${w}.op (expected one of: ${SECCOMP_OPS.join(', ')})`);
        const arg: SeccompArg = { index: a.index as number, value: u64(a.value ?? 0, `${w}.value`), op: a.op as SeccompOp };
        if (a.valueTwo !== undefined && a.valueTwo !== null) arg.valueTwo = u64(a.valueTwo, `${w}.valueTwo`);
        return arg;
      });
      if (args.length) rule.args = args;
    }
    const inc = filter(s.includes, `${where}.includes`, true);
    if (inc) rule.includes = inc;
    const exc = filter(s.excludes, `${where}.excludes`, false);
    if (exc) rule.excludes = exc;

    // Names: a rule that can apply on x86_64 must name x86_64 syscalls. Names of syscalls that only
    // exist on other architectures (Docker's profile lists chown32, _llseek, arm's cacheflush ...)
    // are skipped at compile time, as libseccomp does; any other name is a mistake.
    const native = appliesToNativeArch(rule);
    names.forEach((n, j) => {
      if (!/^[a-z_][a-z0-9_]*$/.test(n)) bad(`invalid syscall name ${show(n)} in ${where}.names[${j}]`);
      if (native && syscallNumber(n) === undefined && !OTHER_ARCH_SYSCALLS.has(n)) bad(`unknown syscall "${n}" in ${where}.names`);
    });
    return rule;
  });
  return profile;
}
