// Profile -> seccomp BPF program.
//
// Compilation has two steps:
//   1. planProfile(): decide which rules apply to this container (by capabilities, architecture and
//      kernel version, like Docker does) and reduce them to one decision per x86_64 syscall number;
//   2. programFromPlan(): lay that out as a cBPF program and assemble it (bpf.ts).
//
// The program always has this shape (see docs/seccomp.md for a real listing):
//
//     ld  [4]                         ; arch
//     jeq #AUDIT_ARCH_X86_64, next, kill
//     ld  [0]                         ; syscall number
//     jge #0x40000000, kill, next     ; x32 ABI
//     jeq #0,  ret_ALLOW, next        ; read      \
//     jeq #1,  ret_ALLOW, next        ; write      |  one test per syscall with a rule,
//     jeq #56, clone_rules, next      ; clone      |  in syscall-number order
//     ...                                         /
//     ret DEFAULT                     ; nothing matched: the default action
//   clone_rules: argument checks, each rule ending in a jump to its action's ret
//   ret_ALLOW: ret ALLOW            ; one ret per distinct action
//   kill: ret KILL_PROCESS
//
// Why the arch check comes first: syscall numbers are per ABI. A 64-bit process can still enter the
// kernel through the i386 ABI (`int $0x80`), and there nr 11 is execve, while on x86_64 11 is munmap.
// The filter must know which table a number comes from before comparing it, so anything that is not
// AUDIT_ARCH_X86_64 is killed. The x32 ABI reports AUDIT_ARCH_X86_64 too, but its numbers carry bit
// 0x40000000; minidock kills those as well (Docker instead translates its allowlist to the i386 and
// x32 numbers; a container of x86_64 binaries never needs them).

import { release } from 'node:os';
import { MinidockError } from '../../errors.js';
import { normalizeCap } from '../capabilities.js';
import {
  AUDIT_ARCH_X86_64,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  SECCOMP_RET_KILL_THREAD,
  SECCOMP_RET_LOG,
  SECCOMP_RET_TRACE,
  SECCOMP_RET_TRAP,
  X32_SYSCALL_BIT,
  formatAction,
} from './actions.js';
import {
  type Item,
  type SockFilter,
  SECCOMP_DATA,
  and,
  assemble,
  encode,
  jeq,
  jge,
  jgt,
  label,
  ldAbs,
  ret,
} from './bpf.js';
import {
  NATIVE_FILTER_ARCHES,
  type SeccompActionName,
  type SeccompOp,
  type SeccompProfile,
  type SeccompSyscall,
  validateProfile,
} from './profile.js';
import { syscallNumber } from './syscalls-x86_64.js';

/** errno values used as defaults. */
const EPERM = 1;

export interface CompileContext {
  /** The container's capabilities (Docker uses the bounding set), e.g. ['CAP_CHOWN', ...]. */
  caps: readonly string[];
  /** The only architecture minidock compiles for. */
  arch?: 'x86_64';
  /** Kernel release used for `includes.minKernel` (e.g. "6.1.0-18-amd64"). Default: this machine's. */
  kernel?: string;
  /** How the profile is named in error messages (a path). */
  source?: string;
}

/** One argument comparison, with 64-bit values. */
export interface Condition {
  index: number;
  op: SeccompOp;
  value: bigint;
  /** MASKED_EQ only: what `arg & value` must equal. */
  valueTwo: bigint;
}

/** Rules for one syscall that depend on its arguments: the first whose conditions all hold decides. */
export interface ArgRule {
  /** The seccomp return value (SECCOMP_RET_*). */
  action: number;
  /** ANDed. */
  conditions: Condition[];
  /** Index of the profile entry it came from (syscalls[i]). */
  from: number;
}

export interface SyscallPlan {
  nr: number;
  name: string;
  /** The action of the profile's rule without arguments for this syscall, if it has one: with no
   *  argument rules it decides every call; with them, it decides the calls none of them matches. */
  action?: number;
  /** Argument rules, tried in profile order; none matching -> `action`, or the default action. */
  rules: ArgRule[];
}

export interface FilterPlan {
  /** The return value when no rule matches. */
  defaultAction: number;
  /** Sorted by syscall number. */
  syscalls: SyscallPlan[];
  /** Names skipped because x86_64 has no such syscall (chown32, _llseek, ...), sorted. */
  skipped: string[];
  /** SECCOMP_FILTER_FLAG_* names requested by the profile. */
  flags: string[];
}

export interface CompiledFilter {
  /** `struct sock_filter[]`, ready for seccomp(SECCOMP_SET_MODE_FILTER). */
  bytes: Uint8Array;
  filters: SockFilter[];
  /** Per-instruction comments from the compiler (for listings). */
  comments: (string | undefined)[];
  plan: FilterPlan;
  /** How many `ja` trampolines were needed for jumps longer than 255. */
  trampolines: number;
}

/**
 * The 32-bit value a filter returns for an action:
 *   ALLOW 0x7fff0000, ERRNO 0x00050000|errno, KILL_PROCESS 0x80000000, KILL_THREAD (and plain
 *   SCMP_ACT_KILL, as in libseccomp) 0x00000000, TRAP 0x00030000, LOG 0x7ffc0000, TRACE 0x7ff00000|data.
 * ERRNO and TRACE take `errnoRet` as their 16-bit data, default EPERM (as runc does).
 */
export function actionValue(action: SeccompActionName, errnoRet?: number): number {
  const data = (errnoRet ?? EPERM) & 0xffff;
  switch (action) {
    case 'SCMP_ACT_ALLOW':
      return SECCOMP_RET_ALLOW;
    case 'SCMP_ACT_ERRNO':
      return (SECCOMP_RET_ERRNO | data) >>> 0;
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
      return SECCOMP_RET_KILL_THREAD;
    case 'SCMP_ACT_KILL_PROCESS':
      return SECCOMP_RET_KILL_PROCESS;
    case 'SCMP_ACT_TRAP':
      return SECCOMP_RET_TRAP;
    case 'SCMP_ACT_LOG':
      return SECCOMP_RET_LOG;
    // With a ptrace tracer attached, the tracer decides; with none, the kernel fails the call with
    // ENOSYS. minidock attaches no tracer, so in practice TRACE means "fail with ENOSYS".
    case 'SCMP_ACT_TRACE':
      return (SECCOMP_RET_TRACE | data) >>> 0;
  }
}

/** "6.1.0-18-amd64" -> [6, 1]; "4.8" -> [4, 8]. */
function kernelVersion(text: string): [number, number] {
  const match = /^(\d+)(?:\.(\d+))?/.exec(text.trim());
  return match ? [Number(match[1]), Number(match[2] ?? 0)] : [0, 0];
}

const atLeast = (have: [number, number], want: [number, number]): boolean =>
  have[0] !== want[0] ? have[0] > want[0] : have[1] >= want[1];

/** Does a profile entry apply to this container? (Docker's rules: includes all, excludes none.) */
function applies(rule: SeccompSyscall, caps: ReadonlySet<string>, kernel: [number, number]): boolean {
  const native = (arches: string[] | undefined): boolean =>
    (arches ?? []).some((arch) => NATIVE_FILTER_ARCHES.includes(arch));
  const includes = rule.includes;
  if (includes) {
    if (includes.caps?.some((cap) => !caps.has(cap))) return false; // every listed capability is required
    if (includes.arches?.length && !native(includes.arches)) return false;
    if (includes.minKernel && !atLeast(kernel, kernelVersion(includes.minKernel))) return false;
  }
  const excludes = rule.excludes;
  if (excludes) {
    if (excludes.caps?.some((cap) => caps.has(cap))) return false; // any listed capability excludes
    if (native(excludes.arches)) return false;
  }
  return true;
}

/**
 * Decide, for every x86_64 syscall the profile mentions, what the filter does with it.
 *
 * Merging rules (libseccomp merges rules per syscall; these are minidock's explicit versions):
 *  - A rule without `args` decides every call of that syscall that no argument rule for it matches: the
 *    argument rules are tried first (libseccomp does the same; systemd relies on it to refuse a
 *    syscall except for a few argument values, and minidock's default profile to refuse one ioctl).
 *    Argument rules whose action is the rule-without-args' own change nothing and are dropped. Two
 *    rules without args with different actions are an error.
 *  - A rule without args whose action equals the default action, and no other rule, need no code.
 *  - Argument rules are tried in profile order; the first whose conditions all hold decides.
 *  - Conditions in one rule are ANDed, except when the same argument index appears more than once:
 *    then runc adds each condition as its own rule (OR), and so does minidock.
 */
export function planProfile(profile: SeccompProfile, ctx: CompileContext): FilterPlan {
  const source = ctx.source ?? '<profile>';
  if (ctx.arch !== undefined && ctx.arch !== 'x86_64')
    throw new MinidockError(
      `seccomp: architecture ${String(ctx.arch)} is not supported (minidock compiles x86_64 filters only)`,
    );
  const valid = validateProfile(profile, source);
  const caps = new Set(ctx.caps.map(normalizeCap));
  const kernel = kernelVersion(ctx.kernel ?? release());
  const defaultAction = actionValue(valid.defaultAction, valid.defaultErrnoRet);

  interface Acc {
    name: string;
    uncond?: { action: number; from: number };
    rules: ArgRule[];
  }
  const byNr = new Map<number, Acc>();
  const skipped = new Set<string>();

  (valid.syscalls ?? []).forEach((rule, from) => {
    if (!applies(rule, caps, kernel)) return;
    const action = actionValue(rule.action, rule.errnoRet);
    const conditions: Condition[] = (rule.args ?? []).map((arg) => ({
      index: arg.index,
      op: arg.op,
      value: BigInt(arg.value),
      valueTwo: BigInt(arg.valueTwo ?? 0),
    }));
    const indexes = conditions.map((condition) => condition.index);
    const repeated = indexes.some((index, position) => indexes.indexOf(index) !== position);
    const ruleSets = repeated ? conditions.map((condition) => [condition]) : [conditions];

    for (const name of rule.names) {
      const nr = syscallNumber(name);
      if (nr === undefined) {
        skipped.add(name); // validateProfile() ensured this is another architecture's syscall
        continue;
      }
      const acc = byNr.get(nr) ?? { name, rules: [] };
      byNr.set(nr, acc);
      if (conditions.length === 0) {
        if (acc.uncond && acc.uncond.action !== action) {
          throw new MinidockError(
            `seccomp profile ${source}: syscall "${name}" has conflicting rules: syscalls[${acc.uncond.from}] says ${formatAction(acc.uncond.action)}, syscalls[${from}] says ${formatAction(action)}`,
          );
        }
        acc.uncond ??= { action, from };
      } else {
        for (const ruleConditions of ruleSets) acc.rules.push({ action, conditions: ruleConditions, from });
      }
    }
  });

  const syscalls: SyscallPlan[] = [];
  for (const [nr, acc] of [...byNr.entries()].sort((a, b) => a[0] - b[0])) {
    if (acc.uncond) {
      const { action } = acc.uncond;
      // Only rules with another action can change a decision; the others are dropped (if every rule
      // has the fallback's action, the order among them does not matter either).
      const rules = acc.rules.some((rule) => rule.action !== action) ? acc.rules : [];
      if (rules.length > 0 || action !== defaultAction) syscalls.push({ nr, name: acc.name, action, rules });
    } else if (acc.rules.length > 0) {
      syscalls.push({ nr, name: acc.name, rules: acc.rules });
    }
  }
  return { defaultAction, syscalls, skipped: [...skipped].sort(), flags: valid.flags ?? [] };
}

const lo32 = (v: bigint): number => Number(v & 0xffffffffn);
const hi32 = (v: bigint): number => Number((v >> 32n) & 0xffffffffn);
const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;

const OP_SYMBOL: Record<SeccompOp, string> = {
  SCMP_CMP_NE: '!=',
  SCMP_CMP_LT: '<',
  SCMP_CMP_LE: '<=',
  SCMP_CMP_EQ: '==',
  SCMP_CMP_GE: '>=',
  SCMP_CMP_GT: '>',
  SCMP_CMP_MASKED_EQ: '&',
};

/** "args[0] & 0x7e020000 == 0" / "args[0] != 40". */
export function describeCondition(condition: Condition): string {
  const arg = `args[${condition.index}]`;
  return condition.op === 'SCMP_CMP_MASKED_EQ'
    ? `${arg} & 0x${condition.value.toString(16)} == ${condition.valueTwo}`
    : `${arg} ${OP_SYMBOL[condition.op]} ${condition.value <= 0xffffn ? condition.value.toString() : `0x${condition.value.toString(16)}`}`;
}

/**
 * Emit the test of one 64-bit argument condition: jump to `fail` when it does not hold, and to `pass`
 * (or fall through, when pass is undefined) when it does.
 *
 * cBPF registers are 32 bits wide, so a 64-bit argument is compared in two halves, high half first:
 * `arg > v` holds when high(arg) > high(v), or when the high halves are equal and low(arg) > low(v).
 * There is no "less than" jump: `a < k` is written as `a >= k` with the targets swapped.
 */
function emitCondition(
  out: Item[],
  condition: Condition,
  pass: string | undefined,
  fail: string,
  fresh: (hint: string) => string,
  who: string,
): void {
  const passLabel = pass ?? fresh('pass');
  const hiOff = SECCOMP_DATA.argHi(condition.index);
  const loOff = SECCOMP_DATA.argLo(condition.index);
  const ldHi = ldAbs(hiOff, `args[${condition.index}] high 32 bits - ${who}: ${describeCondition(condition)}?`);
  const ldLo = ldAbs(loOff, `args[${condition.index}] low 32 bits`);
  const valueHigh = hi32(condition.value);
  const valueLow = lo32(condition.value);
  switch (condition.op) {
    case 'SCMP_CMP_EQ': // both halves equal
      out.push(ldHi, jeq(valueHigh, undefined, fail), ldLo, jeq(valueLow, passLabel, fail));
      break;
    case 'SCMP_CMP_NE': // either half differs
      out.push(ldHi, jeq(valueHigh, undefined, passLabel), ldLo, jeq(valueLow, fail, passLabel));
      break;
    case 'SCMP_CMP_GT': // hi > valueHigh, or hi == valueHigh and lo > valueLow
      out.push(
        ldHi,
        jgt(valueHigh, passLabel, undefined),
        jeq(valueHigh, undefined, fail),
        ldLo,
        jgt(valueLow, passLabel, fail),
      );
      break;
    case 'SCMP_CMP_GE': // hi > valueHigh, or hi == valueHigh and lo >= valueLow
      out.push(
        ldHi,
        jgt(valueHigh, passLabel, undefined),
        jeq(valueHigh, undefined, fail),
        ldLo,
        jge(valueLow, passLabel, fail),
      );
      break;
    case 'SCMP_CMP_LT': // hi < valueHigh, or hi == valueHigh and lo < valueLow
      out.push(
        ldHi,
        jge(valueHigh, undefined, passLabel),
        jeq(valueHigh, undefined, fail),
        ldLo,
        jge(valueLow, fail, passLabel),
      );
      break;
    case 'SCMP_CMP_LE': // hi < valueHigh, or hi == valueHigh and lo <= valueLow
      out.push(
        ldHi,
        jge(valueHigh, undefined, passLabel),
        jeq(valueHigh, undefined, fail),
        ldLo,
        jgt(valueLow, fail, passLabel),
      );
      break;
    case 'SCMP_CMP_MASKED_EQ': {
      // (arg & mask) == want, half by half
      const maskHigh = hi32(condition.value);
      const maskLow = lo32(condition.value);
      out.push(
        ldHi,
        and(maskHigh),
        jeq(hi32(condition.valueTwo), undefined, fail),
        ldLo,
        and(maskLow),
        jeq(lo32(condition.valueTwo), passLabel, fail),
      );
      break;
    }
  }
  if (pass === undefined) out.push(label(passLabel));
}

/** Lay out a plan as a labelled cBPF program (not yet assembled). */
export function programFromPlan(plan: FilterPlan): Item[] {
  const out: Item[] = [];
  let labelCount = 0;
  const fresh = (hint: string): string => `${hint}.${labelCount++}`;
  const retLabel = (action: number): string => `ret.${hex(action)}`;
  const used: number[] = []; // ret values jumped to, in order of first use
  const use = (value: number): string => {
    if (!used.includes(value)) used.push(value);
    return retLabel(value);
  };
  const kill = use(SECCOMP_RET_KILL_PROCESS);

  // 1. Which ABI? Numbers mean different syscalls on different ABIs, so check this first.
  out.push(ldAbs(SECCOMP_DATA.arch, 'arch'));
  out.push(jeq(AUDIT_ARCH_X86_64, undefined, kill, 'not x86_64 (e.g. i386 via int 0x80): kill'));
  // 2. Load the syscall number; x32 calls have bit 0x40000000 set.
  out.push(ldAbs(SECCOMP_DATA.nr, 'syscall number'));
  out.push(jge(X32_SYSCALL_BIT, kill, undefined, 'x32 ABI (nr has bit 0x40000000): kill'));
  // 3. One comparison per syscall with a rule.
  const blocks: SyscallPlan[] = [];
  for (const syscall of plan.syscalls) {
    if (syscall.rules.length === 0)
      out.push(jeq(syscall.nr, use(syscall.action ?? plan.defaultAction), undefined, syscall.name));
    else {
      out.push(jeq(syscall.nr, `sys.${syscall.name}`, undefined, `${syscall.name}: check its arguments`));
      blocks.push(syscall);
    }
  }
  // 4. No rule matched.
  out.push(ret(plan.defaultAction, 'default action'));
  // 5. Argument checks. Each rule: all conditions hold -> its action; one fails -> the next rule;
  //    the last rule failing -> the syscall's rule without arguments, or the default action.
  for (const syscall of blocks) {
    out.push(label(`sys.${syscall.name}`));
    syscall.rules.forEach((rule, j) => {
      const fail =
        j + 1 < syscall.rules.length ? `sys.${syscall.name}.${j + 1}` : use(syscall.action ?? plan.defaultAction);
      if (j > 0) out.push(label(`sys.${syscall.name}.${j}`));
      rule.conditions.forEach((condition, position) => {
        const last = position === rule.conditions.length - 1;
        emitCondition(out, condition, last ? use(rule.action) : undefined, fail, fresh, syscall.name);
      });
    });
  }
  // 6. One `ret` per distinct action, the kill last.
  for (const value of [...used.filter((value) => value !== SECCOMP_RET_KILL_PROCESS), SECCOMP_RET_KILL_PROCESS]) {
    out.push(label(retLabel(value)), ret(value, value === plan.defaultAction ? 'default action' : undefined));
  }
  return out;
}

/** Compile a profile for a container with these capabilities into a full result (program + plan). */
export function compileProfileDetailed(profile: SeccompProfile, ctx: CompileContext): CompiledFilter {
  const plan = planProfile(profile, ctx);
  const { filters, comments, trampolines } = assemble(programFromPlan(plan));
  return { bytes: encode(filters), filters, comments, plan, trampolines };
}

/**
 * Compile a profile into the bytes of a seccomp BPF program (`struct sock_filter[]`, little-endian),
 * for a container holding `ctx.caps`. Same inputs, same bytes.
 */
export function compileProfile(profile: SeccompProfile, ctx: CompileContext): Uint8Array {
  return compileProfileDetailed(profile, ctx).bytes;
}
