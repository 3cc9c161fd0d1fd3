// The body of `minidock oci` / `minidock-oci`: runc's verbs over minidock's OCI state directory
// (src/oci/state.ts). What engines depend on is kept exactly as runc does it:
// - errors: exit status 1, and the message in logrus's format — to --log when given (text
//   `time="..." level=error msg="..."` or, with --log-format json, `{"level":"error","msg":...,"time":...}`,
//   which containerd's shim reads back to report why a runtime call failed) with the bare message
//   on stderr, else the text line on stderr;
// - `state` prints the runtime spec's state JSON; `list` runc's table, `-q` or `-f json`;
//   `kill ID [SIGNAL]` (default SIGTERM) and `delete [--force] ID` with runc's refusals;
// - `ps`, `pause`/`resume`, `update`, `events` act on the container's cgroup (src/oci/control.ts,
//   src/oci/update.ts), with runc's output formats (ps -f json and events: what shims parse).
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MinidockError } from '../errors.js';
import { writeErr, writeOut } from '../sys/output.js';
import { sourceStack } from './stack.js';
import type { OciCommand, OciGlobals } from '../oci/argv.js';
import type { OciState } from '../oci/runtime-state.js';

const HELP = `minidock-oci: minidock as an OCI runtime (runc's command line; see docs/oci.md)

usage: minidock-oci [--root DIR] [--log FILE] [--log-format text|json] [--debug] COMMAND [ARGS...]

commands:
  state ID                     the container's state (runtime-spec JSON)
  list [-q] [-f table|json]    the containers under --root
  kill [--all] ID [SIGNAL]     send SIGNAL (default SIGTERM) to the container's init
  delete [--force] ID          remove a stopped (or, with --force, any) container
  spec [--bundle DIR]          write a default config.json
  features                     what this build supports (runtime-spec 1.1 features JSON)
  create [--bundle DIR] [--pid-file F] [--console-socket SOCK] [--preserve-fds N] ID
                               set the container up; its process waits for start (exec.fifo)
                               (--no-pivot and --no-new-keyring are accepted and ignored: docs/oci.md)
  start ID                     let a created container's process run its program
  run [--bundle DIR] [-d] [--pid-file F] [--preserve-fds N] [--keep] ID
                               create + start; without -d wait, delete, exit with its status
  exec [--process P.json] [-d] [--pid-file F] [-t --console-socket SOCK] [--cwd DIR] [-e K=V] [-u UID[:GID]]
       [--ignore-paused] [--preserve-fds N] ID [ARGS...]
                               a new process in the container; without -d wait for it, exit with its status
  ps [-f table|json] ID [PS_ARGS...]
                               the container's processes: host ps (default -ef) filtered, or a JSON list of pids
  pause ID / resume ID         freeze / thaw every process of the container (the freezer cgroup)
  update [-r FILE|-] [--memory N] [--memory-swap N] [--memory-reservation N] [--cpu-share N]
         [--cpu-quota N] [--cpu-period N] [--cpuset-cpus S] [--cpuset-mems S] [--pids-limit N] ID
                               new limits for the live cgroup (-r: OCI LinuxResources JSON; 0 = unchanged, -1 = none)
  events [--stats] [--interval 5s] ID
                               runc's stats JSON: once with --stats, else every interval (and "oom" events) until it stops

global flags: --root DIR (default /run/minidock-oci), --log FILE, --log-format text|json, --debug,
  --systemd-cgroup (refused: minidock has no systemd cgroup driver), -v/--version
`;

/** One log line in logrus's text or JSON format. */
export function logLine(
  level: 'error' | 'warning' | 'debug',
  msg: string,
  format: OciGlobals['logFormat'],
  now = new Date(),
): string {
  const time = now.toISOString().replace(/\.\d+Z$/, 'Z');
  return format === 'json'
    ? `${JSON.stringify({ level, msg, time })}\n`
    : `time="${time}" level=${level} msg=${JSON.stringify(msg)}\n`;
}

/** Where runc would report: the --log file (and the bare message on stderr), or stderr. */
function report(g: OciGlobals | undefined, level: 'error' | 'warning' | 'debug', msg: string): void {
  if (g?.log) {
    try {
      appendFileSync(g.log, logLine(level, msg, g.logFormat));
    } catch (e) {
      writeErr(
        logLine(
          'error',
          `cannot write the log ${g.log}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
          'text',
        ),
      );
    }
    if (level === 'error') writeErr(`${msg}\n`);
  } else writeErr(logLine(level, msg, 'text'));
}

function minidockVersion(): Promise<string> {
  return import('../sys/native.js').then(
    ({ packageRoot }) =>
      (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version,
  );
}

export async function ociMain(argv: string[]): Promise<number> {
  let cmd: OciCommand | undefined;
  try {
    const { parseOciArgv } = await import('../oci/argv.js');
    cmd = parseOciArgv(argv);
    return await dispatch(cmd);
  } catch (e) {
    if (e instanceof MinidockError) {
      report(cmd?.globals, 'error', e.message);
      return 1;
    }
    report(
      cmd?.globals,
      'error',
      `internal error: ${(e as Error)?.stack ? sourceStack((e as Error).stack!) : String(e)}`,
    );
    return 1;
  }
}

async function dispatch(cmd: OciCommand): Promise<number> {
  const { globals: g, flags, args } = cmd;
  if (cmd.version) {
    const { OCI_VERSION } = await import('../oci/spec-default.js');
    writeOut(`minidock-oci version ${await minidockVersion()}\nspec: ${OCI_VERSION}\n`);
    return 0;
  }
  if (cmd.help || !cmd.verb) {
    writeOut(HELP);
    return 0;
  }
  if (g.systemdCgroup)
    throw new MinidockError(
      '--systemd-cgroup is not supported: minidock manages cgroupfs directly — run without it (containerd: SystemdCgroup = false; Podman: cgroup_manager = "cgroupfs")',
      1,
    );
  const { DEFAULT_OCI_ROOT, checkId, deleteContainer, killContainer, listStates, loadState } = await import(
    '../oci/state.js'
  );
  const root = resolve(g.root ?? DEFAULT_OCI_ROOT);
  const id = (): string => {
    if (args.length < 1)
      throw new MinidockError(`"${cmd.verb}" requires a container id — minidock-oci ${cmd.verb} ID`, 1);
    return checkId(args[0]);
  };
  switch (cmd.verb) {
    case 'state':
      writeOut(`${JSON.stringify(loadState(root, id()).state, null, '  ')}\n`);
      return 0;
    case 'list':
      listContainers(listStates(root), flags);
      return 0;
    case 'kill': {
      const { parseSignal } = await import('../runtime/lifecycle/common.js');
      const sig = parseSignal(args[1] ?? 'SIGTERM');
      killContainer(root, id(), sig, !!flags.all);
      return 0;
    }
    case 'delete':
      await deleteContainer(root, id(), !!flags.force, undefined, (l) => report(g, 'warning', l));
      return 0;
    case 'spec':
      await writeDefaultSpec(flags);
      return 0;
    case 'create':
    case 'run':
      return createOrRun(cmd, root, id());
    case 'exec':
      return execInto(cmd, root, id());
    case 'start':
      await (await import('../oci/launch.js')).ociStart(root, id(), (l) => report(g, 'warning', l));
      return 0;
    case 'features': {
      const { features } = await import('../oci/features.js');
      writeOut(`${JSON.stringify(features(await minidockVersion()), null, '    ')}\n`);
      return 0;
    }
    default:
      return cgroupVerb(cmd, root, id(), (l) => report(g, 'warning', l));
  }
}

/** ps, pause, resume, update, events: the verbs that act on the container's cgroup. */
async function cgroupVerb(cmd: OciCommand, root: string, id: string, warn: (l: string) => void): Promise<number> {
  const { flags, args } = cmd;
  const control = await import('../oci/control.js');
  switch (cmd.verb) {
    case 'ps': {
      const format = (flags.format as string | undefined) ?? 'table';
      if (format !== 'table' && format !== 'json')
        throw new MinidockError(`invalid format option: ${format} (use table or json)`, 1);
      const pids = control.ociPids(root, id);
      // (runc's JSON: Go's nil slice, null, when there is none)
      writeOut(
        format === 'json' ? `${pids.length ? JSON.stringify(pids) : 'null'}\n` : control.psTable(pids, args.slice(1)),
      );
      return 0;
    }
    case 'pause':
      control.ociPause(root, id);
      return 0;
    case 'resume':
      control.ociResume(root, id);
      return 0;
    case 'update':
      await updateLimits(cmd, root, id, warn);
      return 0;
    case 'events':
      return events(cmd, root, id);
    default:
      throw new MinidockError(`minidock-oci ${cmd.verb} is not supported (see docs/oci.md)`, 1);
  }
}

/** `update [-r FILE|-] [flags] ID`: as runc, a resources file makes the other flags ignored. */
async function updateLimits(cmd: OciCommand, root: string, id: string, warn: (l: string) => void): Promise<void> {
  const { flags, args } = cmd;
  if (args.length > 1)
    throw new MinidockError(`update takes one container id, got ${args.length} arguments: flags go before the id`, 1);
  const u = await import('../oci/update.js');
  for (const k of ['l3-cache-schema', 'mem-bw-schema'])
    if (flags[k] !== undefined) throw new MinidockError(`--${k}: Intel RDT is not supported by minidock`, 1);
  const file = flags.resources as string | undefined;
  if (file !== undefined && Object.keys(flags).length > 1)
    warn('--resources given: the other update flags are ignored (as runc)');
  const json = file !== undefined ? u.readResources(file) : u.resourcesFromFlags(flags);
  u.ociUpdate(root, id, u.limitsFromResources(json, file !== undefined ? `--resources ${file}` : 'update'));
}

/**
 * `events [--stats] [--interval D] ID`: runc's stats event once (--stats), or one every interval
 * plus an "oom" event when the cgroup's OOM-kill count grows; runc goes on forever, this ends (0)
 * when the container stops or is deleted.
 */
async function events(cmd: OciCommand, root: string, id: string): Promise<number> {
  const control = await import('../oci/control.js');
  const { parseDuration } = await import('../oci/argv.js');
  const interval = parseDuration('interval', (cmd.flags.interval as string | undefined) ?? '5s');
  writeOut(control.eventLine(control.statsEvent(root, id)));
  if (cmd.flags.stats) return 0;
  let ooms = control.oomKills(root, id) ?? 0;
  for (;;) {
    await new Promise((r) => setTimeout(r, interval));
    let line: string;
    try {
      const n = control.oomKills(root, id) ?? 0;
      if (n > ooms) writeOut(control.eventLine({ type: 'oom', id }));
      ooms = n;
      line = control.eventLine(control.statsEvent(root, id));
    } catch (e) {
      if (e instanceof MinidockError) return 0; // stopped, or deleted: nothing more to report
      throw e;
    }
    writeOut(line);
  }
}

type OciFlags = OciCommand['flags'];

/** `list [-q] [--format table|json]`: runc's columns, or its JSON (null for none). */
function listContainers(states: OciState[], flags: OciFlags): void {
  const format = (flags.format as string | undefined) ?? 'table';
  if (flags.quiet) writeOut(states.map((s) => `${s.id}\n`).join(''));
  else if (format === 'json')
    writeOut(`${states.length ? JSON.stringify(states) : 'null'}\n`); // (runc prints null for none)
  else if (format === 'table')
    writeOut(table(states.map((s) => [s.id, String(s.pid), s.status, s.bundle, s.created, s.owner])));
  else throw new MinidockError(`invalid format option: ${format} (use table or json)`, 1);
}

/** `spec [--bundle DIR]`: a default config.json, never over an existing one (runc's words). */
async function writeDefaultSpec(flags: OciFlags): Promise<void> {
  const dir = resolve((flags.bundle as string | undefined) ?? '.');
  if (flags.rootless)
    throw new MinidockError(
      'spec --rootless is not supported yet: minidock does not make user namespaces (docs/oci.md)',
      1,
    );
  const file = join(dir, 'config.json');
  if (existsSync(file)) throw new MinidockError('File config.json exists. Remove it first', 1); // runc's words
  const { defaultConfig } = await import('../oci/spec-default.js');
  try {
    writeFileSync(file, `${JSON.stringify(defaultConfig(), null, '\t')}\n`, { flag: 'wx' });
  } catch (e) {
    throw new MinidockError(
      `cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} — pass --bundle DIR, an existing directory you may write`,
      1,
    );
  }
}

/** `create` (held at exec.fifo until start) or `run` (create + start, and wait unless -d). */
async function createOrRun(cmd: OciCommand, root: string, id: string): Promise<number> {
  const { globals: g, flags } = cmd;
  const o = {
    root,
    id,
    bundle: (flags.bundle as string | undefined) ?? '.',
    pidFile: flags['pid-file'] as string | undefined,
    consoleSocket: flags['console-socket'] as string | undefined,
    preserveFds: preserveFds(flags['preserve-fds']),
    onWarning: (l: string) => report(g, 'warning', l),
    onDebug: g.debug ? (l: string) => report(g, 'debug', l) : undefined,
  };
  const { ociCreate, ociRun, planFor } = await import('../oci/launch.js');
  // --dry-run: the plan config.json makes, step by step, as `minidock run --dry-run` prints it
  if (flags['dry-run']) {
    const { formatDryRun } = await import('./format-dry-run.js');
    writeOut(formatDryRun((await planFor(o)).plan));
    return 0;
  }
  // --trace: the phases and every step of the child, with their times, on stderr (also on failure)
  const tl = flags.trace ? new (await import('../runtime/trace.js')).Timeline() : undefined;
  try {
    if (cmd.verb === 'create') {
      await ociCreate({ ...o, timeline: tl });
      return 0;
    }
    return await ociRun({ ...o, timeline: tl, detach: !!flags.detach, keep: !!flags.keep });
  } finally {
    if (tl) (await import('./format-dry-run.js')).printTrace(tl, 'text', join(root, id));
  }
}

/** --preserve-fds N (--no-pivot and --no-new-keyring are accepted and change nothing: docs/oci.md). */
function preserveFds(v: string | boolean | undefined): number {
  if (v === undefined) return 0;
  if (typeof v !== 'string' || !/^\d+$/.test(v) || Number(v) > 1000)
    throw new MinidockError(`invalid value "${v}" for flag -preserve-fds: give a number of fds (0-1000)`, 1);
  return Number(v);
}

/** `exec [--process P.json | ARGS]`: a process in a running container's namespaces and cgroup. */
async function execInto(cmd: OciCommand, root: string, id: string): Promise<number> {
  const { flags, args } = cmd;
  const env = flags.env === undefined ? [] : [flags.env as string];
  return (await import('../oci/exec.js')).ociExec({
    root,
    id,
    args: args.slice(1),
    processFile: flags.process as string | undefined,
    detach: !!flags.detach,
    pidFile: flags['pid-file'] as string | undefined,
    consoleSocket: flags['console-socket'] as string | undefined,
    tty: !!flags.tty,
    cwd: flags.cwd as string | undefined,
    env,
    user: flags.user as string | undefined,
    ignorePaused: !!flags['ignore-paused'],
    preserveFds: preserveFds(flags['preserve-fds']),
  });
}

/** runc's tabwriter table: columns padded to the widest cell plus three spaces. */
function table(rows: string[][]): string {
  const all = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'], ...rows];
  const widths = all[0]!.map((_, c) => Math.max(...all.map((r) => r[c]!.length)));
  return (
    all.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]! + 3))).join('')).join('\n') +
    '\n'
  );
}
