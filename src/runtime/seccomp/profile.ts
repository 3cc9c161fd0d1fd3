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
  'SCMP_ARCH_NATIVE',
  'SCMP_ARCH_X86',
  'SCMP_ARCH_X86_64',
  'SCMP_ARCH_X32',
  'SCMP_ARCH_ARM',
  'SCMP_ARCH_AARCH64',
  'SCMP_ARCH_MIPS',
  'SCMP_ARCH_MIPS64',
  'SCMP_ARCH_MIPS64N32',
  'SCMP_ARCH_MIPSEL',
  'SCMP_ARCH_MIPSEL64',
  'SCMP_ARCH_MIPSEL64N32',
  'SCMP_ARCH_PPC',
  'SCMP_ARCH_PPC64',
  'SCMP_ARCH_PPC64LE',
  'SCMP_ARCH_S390',
  'SCMP_ARCH_S390X',
  'SCMP_ARCH_PARISC',
  'SCMP_ARCH_PARISC64',
  'SCMP_ARCH_RISCV64',
  'SCMP_ARCH_LOONGARCH64',
  'SCMP_ARCH_M68K',
  'SCMP_ARCH_SH',
  'SCMP_ARCH_SHEB',
];

/** Architecture names used in includes/excludes (Go's GOARCH spelling plus Docker's extras). */
export const FILTER_ARCHES: readonly string[] = [
  'amd64',
  'x86_64',
  'x86',
  '386',
  'x32',
  'arm',
  'arm64',
  'aarch64',
  'mips',
  'mipsle',
  'mipsel',
  'mips64',
  'mips64le',
  'mips64n32',
  'mips64len32',
  'mipsel64',
  'mipsel64n32',
  'ppc',
  'ppc64',
  'ppc64le',
  's390',
  's390x',
  'riscv64',
  'loong64',
  'loongarch64',
  'parisc',
  'parisc64',
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
const show = (v: unknown): string => (typeof v === 'bigint' ? `${v}` : (JSON.stringify(v) ?? String(v)));

const TOP_LEVEL_KEYS = [
  'defaultAction',
  'defaultErrnoRet',
  'architectures',
  'archMap',
  'flags',
  'syscalls',
  'listenerPath',
  'listenerMetadata',
  'comment',
];
const RULE_KEYS = ['names', 'name', 'action', 'errnoRet', 'args', 'comment', 'includes', 'excludes'];
const ARG_KEYS = ['index', 'value', 'valueTwo', 'op'];

/**
 * Check that `json` is a well-formed profile and return it as a SeccompProfile (a cleaned copy:
 * `name` folded into `names`, capability names normalized to CAP_*). Unknown keys are errors, so
 * that a typo like "errnoret" does not silently change the meaning of a profile.
 */
export function validateProfile(json: unknown, source: string): SeccompProfile {
  return new ProfileChecker(source).profile(json);
}

/** The checks of validateProfile, one method per part of the profile; every error names `source`. */
class ProfileChecker {
  constructor(private readonly source: string) {}

  /** Throw the one-line error for this profile. */
  private fail(msg: string): never {
    throw new MinidockError(`seccomp profile ${this.source}: ${msg}`);
  }

  /** The top level: default action, architectures, flags, then every syscall rule. */
  profile(json: unknown): SeccompProfile {
    if (!isObj(json)) return this.fail('the top level must be a JSON object');
    this.checkKeys(json, TOP_LEVEL_KEYS, 'the top level');
    if (json.listenerPath !== undefined && json.listenerPath !== '')
      this.fail('listenerPath (a seccomp agent) is not supported by minidock');
    if (json.defaultAction === undefined) this.fail('defaultAction is missing');
    const profile: SeccompProfile = { defaultAction: this.action(json.defaultAction, 'defaultAction') };
    if (json.defaultErrnoRet !== undefined && json.defaultErrnoRet !== null)
      profile.defaultErrnoRet = this.errno(json.defaultErrnoRet, 'defaultErrnoRet');

    const arches = this.stringList(json.architectures, 'architectures');
    arches.forEach((arch, i) => {
      if (!SCMP_ARCHES.includes(arch)) this.fail(`unknown architecture "${arch}" in architectures[${i}]`);
    });
    if (json.architectures !== undefined) profile.architectures = arches;
    if (json.archMap !== undefined && json.archMap !== null) profile.archMap = this.archMap(json.archMap);
    const flags = this.stringList(json.flags, 'flags');
    flags.forEach((flag, i) => {
      if (!SECCOMP_FLAGS.includes(flag))
        this.fail(`unknown flag "${flag}" in flags[${i}] (expected one of: ${SECCOMP_FLAGS.join(', ')})`);
    });
    if (flags.length) profile.flags = flags;

    if (json.syscalls !== undefined && json.syscalls !== null && !Array.isArray(json.syscalls))
      this.fail('syscalls must be a list');
    const rules = (json.syscalls ?? []) as unknown[];
    profile.syscalls = rules.map((rule, i) => this.syscallRule(rule, `syscalls[${i}]`));
    return profile;
  }

  /** `archMap`: each architecture with the sub-architectures it also covers. */
  private archMap(value: unknown): SeccompArchMap[] {
    if (!Array.isArray(value)) this.fail('archMap must be a list');
    return (value as unknown[]).map((entry, i) => {
      const where = `archMap[${i}]`;
      if (!isObj(entry)) return this.fail(`${where} must be an object`);
      this.checkKeys(entry, ['architecture', 'subArchitectures'], where);
      if (typeof entry.architecture !== 'string' || !SCMP_ARCHES.includes(entry.architecture))
        this.fail(`unknown architecture ${show(entry.architecture)} in ${where}.architecture`);
      const subArches = this.stringList(entry.subArchitectures, `${where}.subArchitectures`);
      subArches.forEach((arch, j) => {
        if (!SCMP_ARCHES.includes(arch)) this.fail(`unknown architecture "${arch}" in ${where}.subArchitectures[${j}]`);
      });
      return {
        architecture: entry.architecture as string,
        subArchitectures: entry.subArchitectures === null ? null : subArches,
      };
    });
  }

  /** One entry of `syscalls`: its names, action, errno, argument conditions and filters. */
  private syscallRule(value: unknown, where: string): SeccompSyscall {
    if (!isObj(value)) return this.fail(`${where} must be an object`);
    this.checkKeys(value, RULE_KEYS, where);
    let names = this.stringList(value.names, `${where}.names`);
    if (typeof value.name === 'string')
      names = [value.name, ...names]; // the old single-name form
    else if (value.name !== undefined) this.fail(`${where}.name must be a string`);
    if (names.length === 0) this.fail(`${where} has no syscall names`);
    if (value.action === undefined) this.fail(`${where}.action is missing`);
    const rule: SeccompSyscall = { names, action: this.action(value.action, `${where}.action`) };
    if (value.errnoRet !== undefined && value.errnoRet !== null) {
      if (rule.action !== 'SCMP_ACT_ERRNO' && rule.action !== 'SCMP_ACT_TRACE')
        this.fail(`${where}.errnoRet is only meaningful with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not ${rule.action}`);
      rule.errnoRet = this.errno(value.errnoRet, `${where}.errnoRet`);
    }
    if (typeof value.comment === 'string' && value.comment) rule.comment = value.comment;
    if (value.args !== undefined && value.args !== null) {
      if (!Array.isArray(value.args)) this.fail(`${where}.args must be a list`);
      const args = (value.args as unknown[]).map((arg, j) => this.argCondition(arg, `${where}.args[${j}]`));
      if (args.length) rule.args = args;
    }
    const includes = this.filter(value.includes, `${where}.includes`, true);
    if (includes) rule.includes = includes;
    const excludes = this.filter(value.excludes, `${where}.excludes`, false);
    if (excludes) rule.excludes = excludes;
    this.checkSyscallNames(rule, where);
    return rule;
  }

  /** One condition on a syscall argument: which argument, the comparison, the value(s). */
  private argCondition(value: unknown, where: string): SeccompArg {
    if (!isObj(value)) return this.fail(`${where} must be an object`);
    this.checkKeys(value, ARG_KEYS, where);
    if (typeof value.index !== 'number' || !Number.isInteger(value.index) || value.index < 0 || value.index > 5)
      this.fail(`${where}.index must be 0..5 (a syscall has at most 6 arguments), got ${show(value.index)}`);
    if (typeof value.op !== 'string' || !(SECCOMP_OPS as readonly string[]).includes(value.op))
      this.fail(`unknown op ${show(value.op)} in ${where}.op (expected one of: ${SECCOMP_OPS.join(', ')})`);
    const arg: SeccompArg = {
      index: value.index as number,
      value: this.u64(value.value ?? 0, `${where}.value`),
      op: value.op as SeccompOp,
    };
    if (value.valueTwo !== undefined && value.valueTwo !== null)
      arg.valueTwo = this.u64(value.valueTwo, `${where}.valueTwo`);
    return arg;
  }

  // Names: a rule that can apply on x86_64 must name x86_64 syscalls. Names of syscalls that only
  // exist on other architectures (Docker's profile lists chown32, _llseek, arm's cacheflush ...)
  // are skipped at compile time, as libseccomp does; any other name is a mistake.
  private checkSyscallNames(rule: SeccompSyscall, where: string): void {
    const native = appliesToNativeArch(rule);
    rule.names.forEach((name, j) => {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) this.fail(`invalid syscall name ${show(name)} in ${where}.names[${j}]`);
      if (native && syscallNumber(name) === undefined && !OTHER_ARCH_SYSCALLS.has(name))
        this.fail(`unknown syscall "${name}" in ${where}.names`);
    });
  }

  /** `includes` / `excludes`: capabilities, architectures and (includes only) a minimum kernel. */
  private filter(value: unknown, where: string, allowMinKernel: boolean): SeccompFilter | undefined {
    if (value === undefined || value === null) return undefined;
    if (!isObj(value)) return this.fail(`${where} must be an object`);
    this.checkKeys(value, allowMinKernel ? ['caps', 'arches', 'minKernel'] : ['caps', 'arches'], where);
    const out: SeccompFilter = {};
    const caps = this.stringList(value.caps, `${where}.caps`);
    caps.forEach((cap, i) => {
      if (!(CAPS as readonly string[]).includes(normalizeCap(cap)))
        this.fail(`unknown capability "${cap}" in ${where}.caps[${i}]`);
    });
    if (caps.length) out.caps = caps.map(normalizeCap);
    const arches = this.stringList(value.arches, `${where}.arches`);
    arches.forEach((arch, i) => {
      if (!FILTER_ARCHES.includes(arch))
        this.fail(
          `unknown architecture "${arch}" in ${where}.arches[${i}] (expected e.g. amd64, arm64, x86, x32, s390x)`,
        );
    });
    if (arches.length) out.arches = arches;
    const minKernel = value.minKernel;
    if (minKernel !== undefined && minKernel !== null && minKernel !== '') {
      if (typeof minKernel !== 'string' || !/^\d+(\.\d+)?$/.test(minKernel))
        this.fail(`${where}.minKernel must be a kernel version like "4.8", got ${show(minKernel)}`);
      out.minKernel = minKernel as string;
    }
    return Object.keys(out).length ? out : undefined;
  }

  /** Refuse any key not in `allowed`: a typo must not silently change the profile. */
  private checkKeys(obj: Obj, allowed: readonly string[], where: string): void {
    for (const key of Object.keys(obj)) {
      if (!allowed.includes(key))
        this.fail(`unknown key "${key}" in ${where} (expected one of: ${allowed.join(', ')})`);
    }
  }

  /** A list of strings; absent or null is the empty list. */
  private stringList(value: unknown, where: string): string[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value) || value.some((item) => typeof item !== 'string'))
      return this.fail(`${where} must be a list of strings`);
    return value as string[];
  }

  private errno(value: unknown, where: string): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_ERRNO)
      return this.fail(`${where} must be an errno number 0..${MAX_ERRNO}, got ${show(value)}`);
    return value;
  }

  private action(value: unknown, where: string): SeccompActionName {
    if (value === 'SCMP_ACT_NOTIFY')
      return this.fail(`${where}: SCMP_ACT_NOTIFY needs a seccomp agent, which minidock does not support`);
    if (typeof value !== 'string' || !(SECCOMP_ACTIONS as readonly string[]).includes(value))
      return this.fail(`unknown action ${show(value)} in ${where} (expected one of: ${SECCOMP_ACTIONS.join(', ')})`);
    return value as SeccompActionName;
  }

  /** An argument value: an unsigned 64-bit number (a bigint, or a JSON number that is exact). */
  private u64(value: unknown, where: string): number | bigint {
    if (typeof value === 'bigint') {
      if (value < 0n || value > 0xffffffffffffffffn)
        return this.fail(`${where} must be an unsigned 64-bit number, got ${value}`);
      return value;
    }
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
      return this.fail(`${where} must be a non-negative integer, got ${show(value)}`);
    if (!Number.isSafeInteger(value))
      return this.fail(`${where} = ${value} is larger than 2^53-1, which JSON numbers cannot hold exactly here`);
    return value;
  }
}
