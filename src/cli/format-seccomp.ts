// `minidock seccomp show [PROFILE]` and `minidock seccomp test PROFILE SYSCALL [ARG...]`: the lesson
// tools. `show` prints the BPF program a container would get, as a commented listing; `test` runs that
// program on one made-up syscall (in TypeScript, see interp.ts: no kernel involved) and shows the
// verdict, the instructions it went through, and the profile rules that name the syscall.
//
// PROFILE is `default` (Docker's default profile, built in), `unconfined` (no filter), or a path to
// a profile in Docker's JSON format. The program depends on the capabilities too (Docker's profile
// allows mount(2) to a container holding CAP_SYS_ADMIN), so both verbs take --cap-add/--cap-drop,
// exactly like `minidock run`.

import { errnoName } from '../sys/errno.js';
import { normalizeCap } from '../runtime/capabilities.js';
import { X32_SYSCALL_BIT, decodeAction, formatAction } from '../runtime/seccomp/actions.js';
import { BPF_MAXINSNS, SOCK_FILTER_SIZE } from '../runtime/seccomp/bpf.js';
import { describeCondition } from '../runtime/seccomp/compile.js';
import { disassemble } from '../runtime/seccomp/disasm.js';
import type { SeccompProfile, SeccompSyscall } from '../runtime/seccomp/profile.js';
import { compile, load, testSyscall, type SeccompCliOptions, type TestResult } from '../runtime/seccomp/try-syscall.js';

export { testSyscall } from '../runtime/seccomp/try-syscall.js';

// ---- colour (only on a terminal) ---------------------------------------------------------------

interface Paint {
  bold(s: string): string;
  dim(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  red(s: string): string;
  cyan(s: string): string;
  magenta(s: string): string;
}

function painter(on: boolean): Paint {
  const c =
    (code: string) =>
    (s: string): string =>
      on ? `\x1b[${code}m${s}\x1b[0m` : s;
  return { bold: c('1'), dim: c('2'), green: c('32'), yellow: c('33'), red: c('31'), cyan: c('36'), magenta: c('35') };
}

export function wantColor(opt: boolean | undefined, stream: NodeJS.WriteStream = process.stdout): boolean {
  if (opt !== undefined) return opt;
  return !!stream.isTTY && !process.env.NO_COLOR;
}

/** Colour an action word by what it does to the call. */
function paintAction(p: Paint, text: string): string {
  if (/^(ALLOW|LOG)/.test(text)) return p.green(text);
  if (/^(ERRNO|TRACE|TRAP)/.test(text)) return p.yellow(text);
  if (/^KILL/.test(text)) return p.red(text);
  return text;
}

/** Colour one listing line: mnemonic, jump targets, ret actions, comments. */
function paintLine(p: Paint, line: string): string {
  const m = /^(\s*\d+)(\s+)(.*?)(\s+; .*)?$/.exec(line);
  if (!m) return line;
  const [, num, sp, body, comment] = m;
  let b = body.replace(/^(\w+)/, (w) => p.bold(w));
  b = b.replace(/\b(L\d+(?:→L\d+)?)/g, (t) => p.cyan(t));
  b = b.replace(/(ret\S*\s+)(\S+)/, (_all, r: string, act: string) => r + paintAction(p, act));
  return p.dim(num) + sp + b + (comment ? p.dim(comment) : '');
}

// ---- show --------------------------------------------------------------------------------------

export function showText(profileArg: string, o: SeccompCliOptions = {}): string {
  const p = painter(!!o.color);
  const l = load(profileArg, o);
  const out: string[] = [];
  const row = (k: string, v: string): void => void out.push(`${p.bold(k.padEnd(16))}${v}`);
  row('profile', l.title);
  if (!l.profile) {
    out.push('');
    out.push('There is no program to show: without a filter every system call goes straight to the kernel,');
    out.push('and only capabilities, namespaces and read-only mounts stand between the container and the host.');
    return out.join('\n') + '\n';
  }
  const c = compile(l);
  const n = c.filters.length;
  row('compiled for', l.capsNote);
  row(
    'program',
    `${n} instructions = ${p.bold(`${n * SOCK_FILTER_SIZE} bytes`)} (${SOCK_FILTER_SIZE} bytes each; the kernel takes at most ${BPF_MAXINSNS} instructions)`,
  );
  const withArgs = c.plan.syscalls.filter((s) => s.rules.length > 0);
  row(
    'syscalls',
    `${c.plan.syscalls.length - withArgs.length} decided by number alone, ${withArgs.length} by their arguments (${withArgs.map((s) => s.name).join(', ') || 'none'})`,
  );
  row('default action', `${paintAction(p, formatAction(c.plan.defaultAction))} for every syscall not listed`);
  if (c.trampolines)
    row(
      'trampolines',
      `${c.trampolines} (a conditional jump reaches at most 255 instructions ahead; farther ones hop through a "ja")`,
    );
  if (c.plan.skipped.length)
    row(
      'skipped',
      `${c.plan.skipped.length} names that x86_64 does not have (e.g. ${c.plan.skipped.slice(0, 4).join(', ')})`,
    );
  out.push('');
  out.push(p.dim('How to read it: the kernel runs this program on every system call, top to bottom. "ld [0]" loads'));
  out.push(p.dim('the syscall number, "jeq #N, A, B" jumps to line A if it equals N and to B otherwise ("next" = the'));
  out.push(
    p.dim('following line), and the first "ret" reached is the verdict. Comments after ";" name what is compared.'),
  );
  out.push('');
  // the listing without disassemble()'s own 3-line header (the table above says more)
  const listing = disassemble(c.filters, { comments: c.comments, raw: o.raw })
    .split('\n')
    .slice(3)
    .filter((s) => s !== '');
  for (const line of listing) out.push(o.color ? paintLine(p, line) : line);
  out.push('');
  out.push(p.dim(`Try: minidock seccomp test ${profileArg} mount    (what happens to one call, and why)`));
  return out.join('\n') + '\n';
}

const ERRNO_TEXT: Record<string, string> = {
  EPERM: 'Operation not permitted',
  ENOSYS: 'Function not implemented',
  EACCES: 'Permission denied',
  EINVAL: 'Invalid argument',
  ENOENT: 'No such file or directory',
};

function verdictSentence(r: TestResult, p: Paint): string {
  const call = p.bold(r.syscall);
  const d = decodeAction(Number(r.raw));
  switch (d.action) {
    case 'ALLOW':
      return `the kernel runs ${call} as usual`;
    case 'LOG':
      return `the kernel runs ${call}, and writes it to the audit log`;
    case 'ERRNO':
      return `${call} does not run: it returns -1 with errno ${p.bold(r.errno ?? String(d.errno))}${ERRNO_TEXT[r.errno ?? ''] ? ` (${ERRNO_TEXT[r.errno!]})` : ''}`;
    case 'KILL_PROCESS':
      return `the whole process is killed by SIGSYS before ${call} runs (exit status 159 = 128 + 31)`;
    case 'KILL_THREAD':
      return `the calling thread is killed by SIGSYS before ${call} runs`;
    case 'TRAP':
      return `${call} does not run: the thread gets a catchable SIGSYS`;
    case 'TRACE':
      return `${call} waits for a ptrace tracer; minidock attaches none, so it fails with ENOSYS`;
    default:
      return `${d.action}`;
  }
}

/** The rules of the profile that name this syscall, and whether each applies with these caps. */
function rulesFor(profile: SeccompProfile, name: string, caps: string[]): string[] {
  const have = new Set(caps.map(normalizeCap));
  const out: string[] = [];
  (profile.syscalls ?? []).forEach((s: SeccompSyscall, i) => {
    if (!s.names.includes(name)) return;
    const why: string[] = [];
    let applies = true;
    const needs = (s.includes?.caps ?? []).filter((c) => !have.has(normalizeCap(c)));
    if (needs.length) {
      applies = false;
      why.push(`needs ${needs.join('+')}`);
    }
    const excl = (s.excludes?.caps ?? []).filter((c) => have.has(normalizeCap(c)));
    if (excl.length) {
      applies = false;
      why.push(`not with ${excl.join('+')}`);
    }
    if (s.includes?.arches?.length && !s.includes.arches.some((a) => a === 'amd64' || a === 'x86_64')) {
      applies = false;
      why.push(`only on ${s.includes.arches.join(',')}`);
    }
    if (s.excludes?.arches?.some((a) => a === 'amd64' || a === 'x86_64')) {
      applies = false;
      why.push('not on x86_64');
    }
    if (s.includes?.minKernel) why.push(`kernel >= ${s.includes.minKernel}`);
    const act =
      s.action.replace(/^SCMP_ACT_/, '') + (s.action === 'SCMP_ACT_ERRNO' ? `(${errnoName(s.errnoRet ?? 1)})` : '');
    const args = (s.args ?? []).map((a) =>
      describeCondition({ index: a.index, op: a.op, value: BigInt(a.value), valueTwo: BigInt(a.valueTwo ?? 0) }),
    );
    out.push(
      `${applies ? '✓' : '✗'} syscalls[${i}]: ${act}${args.length ? ` if ${args.join(' and ')}` : ''}${why.length ? `  (${why.join('; ')})` : ''}`,
    );
  });
  return out;
}

export function testText(profileArg: string, syscallArg: string, argv: string[], o: SeccompCliOptions = {}): string {
  const { result: r, loaded: l, compiled: c } = testSyscall(profileArg, syscallArg, argv, o);
  if (o.json) return JSON.stringify(r) + '\n';
  const p = painter(!!o.color);
  const out: string[] = [];
  const row = (k: string, v: string): void => void out.push(`${p.bold(k.padEnd(10))}${v}`);
  const argText = r.args.length
    ? `arguments ${r.args.map((a, i) => `args[${i}]=${a}`).join(' ')}`
    : 'no arguments given (all 0)';
  row('profile', `${l.title}${l.profile ? `, compiled for ${l.capsNote}` : ''}`);
  const callText =
    r.arch === 'i386'
      ? `${p.bold(r.syscall)} (through the i386 ABI: int $0x80 from any process)`
      : r.arch === 'x32'
        ? `${p.bold(r.syscall)} through the x32 ABI = ${r.nr & ~X32_SYSCALL_BIT} | 0x40000000 = ${r.nr}`
        : `${p.bold(r.syscall)} = x86_64 syscall ${r.nr}`;
  row('call', `${callText}, ${argText}`);
  row('verdict', `${paintAction(p, r.action)}${c ? ` (the filter returned ${r.raw})` : ''}`);
  out.push(`${''.padEnd(10)}${verdictSentence(r, p)}`);
  if (!c) {
    out.push('');
    out.push('No filter is loaded, so there is nothing to decide: the call reaches the kernel, which still checks');
    out.push('capabilities and permissions as for any process.');
    return out.join('\n') + '\n';
  }
  out.push('');
  out.push(`${p.bold('path')}      ${r.steps} of ${r.instructions} instructions ran:`);
  const lines = disassemble(c.filters, { comments: c.comments }).split('\n').slice(3);
  // Long runs of "not this syscall" comparisons are folded: they are the same question asked again.
  const path = r.path;
  for (let k = 0; k < path.length; k++) {
    let run = 0;
    while (
      k + run + 1 < path.length &&
      path[k + run + 1] === path[k + run] + 1 &&
      /jeq .*next\s*;/.test(lines[path[k + run]] ?? '') &&
      /jeq .*next\s*;/.test(lines[path[k + run + 1]] ?? '')
    )
      run++;
    if (run >= 4) {
      out.push(o.color ? paintLine(p, lines[path[k]]) : lines[path[k]]);
      out.push(
        p.dim(
          `${''.padEnd(String(c.filters.length).length + 4)}… ${run - 1} more "is it syscall N?" comparisons, none matched …`,
        ),
      );
      out.push(o.color ? paintLine(p, lines[path[k + run]]) : lines[path[k + run]]);
      k += run;
      continue;
    }
    out.push(o.color ? paintLine(p, lines[path[k]]) : lines[path[k]]);
  }
  if (r.arch === 'x86_64' && l.profile) {
    const rules = rulesFor(l.profile, r.syscall, l.caps);
    out.push('');
    if (rules.length) {
      out.push(`${p.bold('rules')}     naming ${r.syscall} in the profile (✓ applies to this container, ✗ does not):`);
      for (const x of rules) out.push(`          ${x.startsWith('✓') ? p.green('✓') : p.dim('✗')}${x.slice(1)}`);
      // A capability that would change the verdict is the most useful hint of all.
      const need = rules.map((x) => /^✗ .*\(needs (CAP_[A-Z_+]+)/.exec(x)?.[1]).find(Boolean);
      if (need)
        out.push(
          p.dim(
            `          try: minidock seccomp test ${profileArg} ${syscallArg} ${need
              .split('+')
              .map((c) => `--cap-add ${c.replace(/^CAP_/, '')}`)
              .join(' ')}`,
          ),
        );
    } else {
      out.push(`${p.bold('rules')}     no rule names ${r.syscall}: the profile's default action decides`);
    }
  }
  return out.join('\n') + '\n';
}
