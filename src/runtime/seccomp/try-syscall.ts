// The seccomp lesson tools' library (minidock seccomp show|test; the text: src/cli/format-seccomp.ts):
// load a profile for a set of capabilities, compile it, and run the program on one made-up syscall
// (in TypeScript, see interp.ts: no kernel involved).
//
// PROFILE is `default` (Docker's default profile, built in), `unconfined` (no filter), or a path to
// a profile in Docker's JSON format. The program depends on the capabilities too (Docker's profile
// allows mount(2) to a container holding CAP_SYS_ADMIN), so both verbs take --cap-add/--cap-drop,
// exactly like `minidock run`.
import { MinidockError } from '../../errors.js';
import { errnoName } from '../../sys/errno.js';
import { DOCKER_DEFAULT_CAPS, resolveCaps } from '../capabilities.js';
import { AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT, formatAction } from './actions.js';
import { compileProfileDetailed, type CompiledFilter } from './compile.js';
import { DEFAULT_PROFILE } from './default.js';
import { evaluate, type Decision } from './interp.js';
import { loadProfileFile, type SeccompProfile } from './profile.js';
import { parseSyscall, syscallName } from './syscalls-x86_64.js';

export interface SeccompCliOptions {
  capAdd?: string[];
  capDrop?: string[];
  /** show: also print each instruction's raw fields */
  raw?: boolean;
  /** test: the ABI the call is made through */
  arch?: string;
  /** test: machine-readable output */
  json?: boolean;
  /** colour: default = stdout is a TTY and NO_COLOR is unset */
  color?: boolean;
}

// ---- loading -----------------------------------------------------------------------------------

export interface Loaded {
  /** what the user typed: default, unconfined, a path */
  name: string;
  /** a sentence describing it */
  title: string;
  profile?: SeccompProfile;
  caps: string[];
  capsNote: string;
}

export function load(profileArg: string, o: SeccompCliOptions): Loaded {
  const caps = resolveCaps(o.capAdd ?? [], o.capDrop ?? [], false);
  const added = caps.filter((c) => !DOCKER_DEFAULT_CAPS.includes(c));
  const dropped = DOCKER_DEFAULT_CAPS.filter((c) => !(caps as string[]).includes(c));
  const short = (l: readonly string[]): string => l.map((c) => c.replace(/^CAP_/, '')).join(' ');
  const capsNote =
    !added.length && !dropped.length
      ? `Docker's default set (${caps.length}): ${short(caps)}`
      : `${caps.length} capabilities: Docker's default set${added.length ? ` + ${short(added)}` : ''}${dropped.length ? ` - ${short(dropped)}` : ''}`;
  if (profileArg === 'default') {
    return {
      name: 'default',
      title: "minidock's default profile (Docker's default, built in)",
      profile: DEFAULT_PROFILE,
      caps,
      capsNote,
    };
  }
  if (profileArg === 'unconfined')
    return { name: 'unconfined', title: 'no filter at all (--security-opt seccomp=unconfined)', caps, capsNote };
  return {
    name: profileArg,
    title: `the profile in ${profileArg}`,
    profile: loadProfileFile(profileArg),
    caps,
    capsNote,
  };
}

export function compile(l: Loaded): CompiledFilter {
  return compileProfileDetailed(l.profile!, { caps: l.caps, source: l.name });
}

// ---- one call ------------------------------------------------------------------------------------

export interface TestResult {
  profile: string;
  syscall: string;
  nr: number;
  arch: string;
  args: string[];
  action: string;
  errno?: string;
  /** the value the filter returned, as hex */
  raw: string;
  steps: number;
  instructions: number;
  path: number[];
}

function parseArg(a: string, i: number): bigint {
  const s = a.trim();
  if (!/^(0x[0-9a-f]+|\d+|-\d+)$/i.test(s))
    throw new MinidockError(`seccomp test: argument ${i} "${a}" is not a number (decimal, or hex like 0x10000000)`);
  const v = BigInt(s);
  return BigInt.asUintN(64, v);
}

function archOf(raw: string | undefined): { arch: number; x32: boolean; name: string } {
  switch ((raw ?? 'x86_64').toLowerCase()) {
    case 'x86_64':
    case 'amd64':
      return { arch: AUDIT_ARCH_X86_64, x32: false, name: 'x86_64' };
    case 'i386':
    case 'x86':
    case '386':
      return { arch: AUDIT_ARCH_I386, x32: false, name: 'i386' };
    case 'x32':
      return { arch: AUDIT_ARCH_X86_64, x32: true, name: 'x32' };
    default:
      throw new MinidockError(`seccomp test: --arch ${raw}: use x86_64, i386 or x32`);
  }
}

/** Run the filter on one call. */
export function testSyscall(
  profileArg: string,
  syscallArg: string,
  argv: string[],
  o: SeccompCliOptions = {},
): { result: TestResult; loaded: Loaded; compiled?: CompiledFilter; decision?: Decision } {
  const l = load(profileArg, o);
  const a = archOf(o.arch);
  // On i386 the number is the i386 table's: take it as given (a name would be translated with the
  // x86_64 table, which would be wrong), so --arch i386 wants a number.
  if (a.name === 'i386' && !/^(0x[0-9a-f]+|\d+)$/i.test(syscallArg.trim())) {
    throw new MinidockError(
      `seccomp test: --arch i386 takes a syscall NUMBER of the i386 table (e.g. 11 for execve); names here are x86_64's`,
    );
  }
  const base = parseSyscall(syscallArg);
  const nr = a.x32 ? (base | X32_SYSCALL_BIT) >>> 0 : base;
  if (argv.length > 6)
    throw new MinidockError(`seccomp test: at most 6 arguments (a syscall has 6), got ${argv.length}`);
  const args = argv.map(parseArg);
  const name = a.name === 'i386' ? `i386 syscall ${base}` : (syscallName(base) ?? `syscall ${base}`);
  const result: TestResult = {
    profile: l.name,
    syscall: name,
    nr,
    arch: a.name,
    args: args.map((v) => `0x${v.toString(16)}`),
    action: 'ALLOW',
    raw: '0x7fff0000',
    steps: 0,
    instructions: 0,
    path: [],
  };
  if (!l.profile) return { result, loaded: l };
  const c = compile(l);
  const d = evaluate(c.bytes, { nr, arch: a.arch, args }, { trace: true });
  result.action = formatAction(d.raw);
  if (d.errno !== undefined) result.errno = errnoName(d.errno);
  result.raw = `0x${(d.raw >>> 0).toString(16).padStart(8, '0')}`;
  result.steps = d.steps;
  result.instructions = c.filters.length;
  result.path = d.path ?? [];
  return { result, loaded: l, compiled: c, decision: d };
}
