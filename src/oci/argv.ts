// minidock-oci's command line, parsed as runc's (urfave/cli) is: global flags before the verb, the
// verb's own flags before its arguments, "--flag value", "--flag=value", and one or two dashes
// alike (engines write `--root`, some tools `-root`). Pure: tests give it argv, it returns a value
// or throws a MinidockError with runc's exit code 1.
import { MinidockError } from '../errors.js';

export interface OciGlobals {
  root?: string;
  log?: string;
  logFormat: 'text' | 'json';
  debug: boolean;
  systemdCgroup: boolean;
}

export interface OciCommand {
  globals: OciGlobals;
  /** undefined: no verb (help) */
  verb?: string;
  flags: Record<string, string | boolean>;
  args: string[];
  version?: boolean;
  help?: boolean;
}

/** A flag: its names (the first is the key in `flags`) and whether it takes a value. */
interface FlagSpec {
  names: string[];
  value: boolean;
}
const f = (value: boolean, ...names: string[]): FlagSpec => ({ names, value });

const GLOBAL: FlagSpec[] = [
  f(true, 'root'),
  f(true, 'log'),
  f(true, 'log-format'),
  f(false, 'debug'),
  f(false, 'systemd-cgroup'),
  f(true, 'criu'),
  f(true, 'rootless'),
  f(false, 'version', 'v'),
  f(false, 'help', 'h'),
];

/** Every OCI verb minidock-oci knows, with its flags (runc 1.1's names). */
export const OCI_VERBS: Record<string, FlagSpec[]> = {
  state: [],
  list: [f(true, 'format', 'f'), f(false, 'quiet', 'q')],
  kill: [f(false, 'all', 'a')],
  delete: [f(false, 'force', 'f')],
  spec: [f(true, 'bundle', 'b'), f(false, 'rootless')],
  features: [],
  // (the launch verbs: parsed so that their error says what is missing, not "unknown flag")
  create: [
    f(true, 'bundle', 'b'),
    f(true, 'console-socket'),
    f(true, 'pid-file'),
    f(false, 'no-pivot'),
    f(false, 'no-new-keyring'),
    f(true, 'preserve-fds'),
    f(false, 'dry-run'),
    f(false, 'trace'),
  ],
  start: [],
  run: [
    f(true, 'bundle', 'b'),
    f(true, 'console-socket'),
    f(true, 'pid-file'),
    f(false, 'detach', 'd'),
    f(false, 'no-pivot'),
    f(false, 'no-new-keyring'),
    f(true, 'preserve-fds'),
    f(false, 'keep'),
    f(false, 'dry-run'),
    f(false, 'trace'),
  ],
  exec: [
    f(true, 'process', 'p'),
    f(false, 'detach', 'd'),
    f(true, 'pid-file'),
    f(true, 'console-socket'),
    f(false, 'tty', 't'),
    f(true, 'cwd'),
    f(true, 'env', 'e'),
    f(true, 'user', 'u'),
    f(false, 'ignore-paused'),
    f(true, 'preserve-fds'),
  ],
  ps: [f(true, 'format', 'f')],
  pause: [],
  resume: [],
  update: [
    f(true, 'resources', 'r'),
    f(true, 'memory'),
    f(true, 'memory-swap'),
    f(true, 'memory-reservation'),
    f(true, 'cpu-share'),
    f(true, 'cpu-shares'), // (not runc's name: Docker's, accepted for --cpu-share)
    f(true, 'cpu-quota'),
    f(true, 'cpu-period'),
    f(true, 'cpu-rt-runtime'),
    f(true, 'cpu-rt-period'),
    f(true, 'cpuset-cpus'),
    f(true, 'cpuset-mems'),
    f(true, 'pids-limit'),
    f(true, 'blkio-weight'),
    f(true, 'l3-cache-schema'),
    f(true, 'mem-bw-schema'),
  ],
  events: [f(false, 'stats'), f(true, 'interval')],
};

const err = (msg: string): never => {
  throw new MinidockError(msg, 1);
};

function takeFlags(
  argv: string[],
  i: number,
  specs: FlagSpec[],
  out: Record<string, string | boolean>,
  where: string,
): number {
  while (i < argv.length) {
    const a = argv[i]!;
    if (a === '--') return i + 1;
    if (!a.startsWith('-') || a === '-') return i;
    const m = /^--?([^=]+)(?:=(.*))?$/s.exec(a)!;
    const spec = specs.find((s) => s.names.includes(m[1]!));
    if (!spec) err(`flag provided but not defined: -${m[1]} (${where})`);
    const key = spec!.names[0]!;
    if (spec!.value) {
      if (m[2] !== undefined) out[key] = m[2];
      else if (i + 1 < argv.length) out[key] = argv[++i]!;
      else err(`flag needs an argument: -${m[1]}`);
    } else {
      if (m[2] !== undefined && !['true', 'false'].includes(m[2])) err(`invalid boolean value "${m[2]}" for -${m[1]}`);
      out[key] = m[2] !== 'false';
    }
    i++;
  }
  return i;
}

export function parseOciArgv(argv: string[]): OciCommand {
  const g: Record<string, string | boolean> = {};
  let i = takeFlags(argv, 0, GLOBAL, g, 'global flags go before the command');
  const lf = (g['log-format'] as string | undefined) ?? 'text';
  if (lf !== 'text' && lf !== 'json') err(`invalid log-format: ${lf} (use text or json)`);
  const globals: OciGlobals = {
    root: g.root as string | undefined,
    log: g.log as string | undefined,
    logFormat: lf as 'text' | 'json',
    debug: !!g.debug,
    systemdCgroup: !!g['systemd-cgroup'],
  };
  const out: OciCommand = { globals, flags: {}, args: [], version: !!g.version, help: !!g.help };
  const verb = argv[i];
  if (verb === undefined) return out;
  if (!Object.hasOwn(OCI_VERBS, verb))
    err(`No help topic for '${verb}' — minidock-oci's commands are: ${Object.keys(OCI_VERBS).join(', ')}`);
  out.verb = verb;
  i = takeFlags(
    argv,
    i + 1,
    [...OCI_VERBS[verb]!, f(false, 'help', 'h')],
    out.flags,
    `see minidock-oci ${verb} --help`,
  );
  // urfave/cli stops at the first argument; runc's kill and delete also take flags after the ID
  const rest = argv.slice(i);
  for (let j = 0; j < rest.length; j++) {
    const a = rest[j]!;
    if (
      a.startsWith('-') &&
      a !== '-' &&
      OCI_VERBS[verb]!.some((s) => s.names.includes(a.replace(/^--?/, '').split('=')[0]!)) &&
      (verb === 'kill' || verb === 'delete')
    ) {
      takeFlags([a], 0, OCI_VERBS[verb]!, out.flags, verb);
    } else out.args.push(a);
  }
  // runc passes everything after ps's ID to ps; a "--" there would reach ps (which refuses it)
  if (verb === 'ps' && out.args[1] === '--') out.args.splice(1, 1);
  if (out.flags.help) out.help = true;
  return out;
}

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** A Go duration ("5s", "1m30s", "250ms", "1.5s"), as runc's --interval takes it, in milliseconds. */
export function parseDuration(flag: string, text: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?|\.\d+)(ns|us|µs|ms|s|m|h)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== text)
    err(`invalid value "${text}" for flag -${flag}: give a duration like 5s, 500ms or 1m`);
  const ms = parts.reduce((sum, p) => sum + Number(p[1]) * DURATION_UNITS[p[2]!]!, 0);
  if (!(ms > 0)) err(`-${flag} must be greater than 0`);
  return ms;
}
