// From `minidock run` flags to a ContainerSpec. Every bad input becomes one clear line and exit 125
// here, before anything is created on the host.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import { fail } from '../errors.js';
import { CAPS, resolveCaps, type CapName } from './capabilities.js';
import { parseLimits } from './limits.js';
import { readResolvedFile, scopedResolve, type Resolved } from './paths.js';
import { DEFAULT_MASKED_PATHS, DEFAULT_PATH, DEFAULT_READONLY_PATHS, type BindMount, type ContainerSpec, type Rlimit } from './spec.js';
import { RLIMIT } from '../sys/constants.js';

export interface RunFlags {
  interactive?: boolean;
  tty?: boolean;
  env?: string[];
  envFile?: string[];
  workdir?: string;
  hostname?: string;
  user?: string;
  volume?: string[];
  readOnly?: boolean;
  rm?: boolean;
  name?: string;
  stopTimeout?: string;
  capAdd?: string[];
  capDrop?: string[];
  privileged?: boolean;
  securityOpt?: string[];
  ulimit?: string[];
  cgroupParent?: string;
  // resource limits (see limits.ts)
  memory?: string;
  memorySwap?: string;
  memoryReservation?: string;
  cpus?: string;
  cpu?: string;
  cpuShares?: string;
  cpuWeight?: string;
  cpusetCpus?: string;
  pidsLimit?: string;
  pids?: string;
}

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** One KEY=VALUE (or KEY, copied from minidock's environment) of -e, --env-file or exec -e. */
export function parseEnvEntry(raw: string, where: string): string | undefined {
  // execve() takes each variable as a C string: everything after a NUL would silently vanish.
  if (raw.includes('\0')) fail(`${where} ${JSON.stringify(raw)}: contains a NUL byte, which no environment variable can hold — remove it`);
  const eq = raw.indexOf('=');
  const key = eq < 0 ? raw : raw.slice(0, eq);
  if (!ENV_KEY.test(key)) fail(`${where} "${raw}": the variable name must be letters, digits and _ (use KEY=VALUE)`);
  if (eq >= 0) return raw;
  // Docker: `-e KEY` copies KEY from minidock's own environment, or is dropped when unset.
  const v = process.env[key];
  return v === undefined ? undefined : `${key}=${v}`;
}

export function parseEnvFile(path: string): string[] {
  let text: string;
  try {
    // Read exactly once (a pipe has no second reading). /dev/stdin and /dev/fd/N are read through
    // the descriptor itself: open() of /proc/self/fd/N fails with ENXIO when it is a socket, which
    // is what a program's stdin is when another program made it with socketpair() (Node does).
    const fd = /^\/dev\/(?:stdin|fd\/(\d+))$/.exec(path);
    text = readFileSync(fd ? Number(fd[1] ?? 0) : path, 'utf8');
  } catch (e) {
    return fail(`--env-file ${path}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'} — give a readable file of KEY=VALUE lines`);
  }
  const out: string[] = [];
  text.split('\n').forEach((line, i) => {
    const t = line.replace(/\r$/, '').trim();
    if (!t || t.startsWith('#')) return;
    const e = parseEnvEntry(t, `--env-file ${path} line ${i + 1}:`);
    if (e) out.push(e);
  });
  return out;
}

/**
 * -i -t needs a terminal on stdin, as in Docker ("the input device is not a TTY"). The relay puts
 * the user's terminal in raw mode and copies its bytes to the container's pty; a pipe or a file has
 * no keyboard to make raw, and its end of input cannot be passed on: in raw mode a pty has no
 * "end of file" (^D is just a byte), so the container would wait for more input forever.
 */
export function checkTtyInput(f: Pick<RunFlags, 'tty' | 'interactive'>, stdinIsTTY: boolean): void {
  if (f.tty && f.interactive && !stdinIsTTY) {
    fail('-i -t: the input device is not a TTY (stdin is a pipe or a file) — drop -t to pipe input into the container (-i alone), or run from a terminal');
  }
}

/**
 * How options.ts looks into the container's filesystem before it exists: a rootfs directory, or
 * an image's layers (src/image/layered-fs.ts merges them as overlayfs will).
 */
export interface RootView {
  /** a file's text by its path inside the container ("etc/passwd"), resolved inside the container
   * (paths.ts): undefined when missing; one clear line starting with `what` when it is anything but
   * a regular file of at most 16 MiB */
  readFile(inner: string, what: string): string | undefined;
  /** resolve a container path through the container's own symlinks */
  resolve(path: string): Resolved;
}

export function dirView(rootfs: string): RootView {
  return {
    readFile: (inner, what) => readResolvedFile(rootfs, inner, scopedResolve(rootfs, inner), what),
    resolve: (p) => scopedResolve(rootfs, p),
  };
}

const viewOf = (rootfs: string | RootView): RootView => (typeof rootfs === 'string' ? dirView(rootfs) : rootfs);

/** The colon-separated lines of one of the container's files (/etc/passwd, /etc/group). */
function entries(view: RootView, file: string, what: string): string[][] {
  return (view.readFile(file, what) ?? '').split('\n').map((l) => l.split(':'));
}

/** -u UID[:GID] or NAME[:GROUP], names looked up in the container's /etc/passwd and /etc/group. */
export function parseUser(rootfs: string | RootView, raw: string): { uid: number; gid: number; home: string; groups: number[] } {
  const view = viewOf(rootfs);
  const [u, g] = raw.split(':');
  const num = /^\d+$/;
  let gid: number | undefined;
  let home = '/';
  if (!u) fail(`-u "${raw}": use UID[:GID] or NAME[:GROUP]`);
  const passwd = entries(view, 'etc/passwd', `-u ${raw}`);
  const pw = num.test(u) ? passwd.find((f) => f[2] === String(Number(u))) : passwd.find((f) => f[0] === u);
  if (!pw && !num.test(u)) return fail(`-u ${raw}: no user "${u}" in the container's /etc/passwd — use a numeric UID or a name listed there`);
  const uid = Number(num.test(u) ? u : pw![2]);
  if (pw) {
    gid = Number(pw[3]);
    home = pw[5] || '/';
  }
  const group = g !== undefined || pw ? entries(view, 'etc/group', `-u ${raw}`) : [];
  if (g !== undefined) {
    if (num.test(g)) gid = Number(g);
    else {
      const gr = group.find((f) => f[0] === g);
      if (!gr) fail(`-u ${raw}: no group "${g}" in the container's /etc/group — use a numeric GID or a name listed there`);
      gid = Number(gr[2]);
    }
  }
  if (uid > 0xfffffffe || (gid ?? 0) > 0xfffffffe) fail(`-u ${raw}: ids must be below 4294967295`);
  // Docker: a numeric uid missing from /etc/passwd runs with gid 0. Supplementary groups: the
  // primary group plus every group of /etc/group that lists the user by name.
  const groups = new Set<number>([gid ?? 0]);
  if (pw) {
    for (const f of group) if (f.length >= 4 && f[3].split(',').includes(pw[0])) groups.add(Number(f[2]));
  }
  return { uid, gid: gid ?? 0, home, groups: [...groups] };
}

/** -v HOST:CONTAINER[:ro|rw] */
export function parseVolume(rootfs: string | RootView, raw: string): BindMount {
  const parts = raw.split(':');
  let mode = 'rw';
  if (parts.length === 3) mode = parts.pop()!;
  if (parts.length !== 2 || !parts[0] || !parts[1]) fail(`-v ${raw}: use HOST_PATH:CONTAINER_PATH[:ro]`);
  if (mode !== 'ro' && mode !== 'rw') fail(`-v ${raw}: unknown mode "${mode}", use ro or rw`);
  const [source, dest] = parts;
  if (!source.startsWith('/')) fail(`-v ${raw}: the host path must be absolute (e.g. $PWD/${source})`);
  if (!dest.startsWith('/')) fail(`-v ${raw}: the container path must be absolute`);
  if (!existsSync(source)) fail(`-v ${raw}: host path ${source} does not exist — create it first (minidock does not, unlike Docker)`);
  // Resolve the target inside the rootfs: a symlink there must not lead to a host path.
  const r = viewOf(rootfs).resolve(dest);
  if (r.inner === '/') fail(`-v ${raw}: cannot mount over the container's root`);
  // A loop leaves symlinks in r.inner, which mount() would follow from the host's root.
  if (r.kind === 'loop') fail(`-v ${raw}: ${dest} leads through more than 40 symbolic links inside the rootfs (a loop) — mount it at another path`);
  const srcIsDir = statSync(source).isDirectory();
  if (r.kind === 'dir' && !srcIsDir) fail(`-v ${raw}: ${source} is a file but ${dest} is a directory in the container`);
  if (r.kind === 'file' && srcIsDir) fail(`-v ${raw}: ${source} is a directory but ${dest} is a file in the container`);
  return { source, destination: r.inner, readonly: mode === 'ro', isFile: !srcIsDir };
}

/** --ulimit nofile=1024:2048. Never above the caller's hard limit: raising a hard limit needs
 * CAP_SYS_RESOURCE, which root lacks on some hosts (this project's machines, for one). */
export function parseUlimit(raw: string, callerHard: (type: string) => number): Rlimit {
  const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(raw);
  if (!m) return fail(`--ulimit ${raw}: use NAME=SOFT[:HARD], e.g. nofile=1024:2048`);
  const [, type, s, h] = m;
  if (!(type in RLIMIT)) fail(`--ulimit ${raw}: unknown limit "${type}" (one of ${Object.keys(RLIMIT).join(', ')})`);
  const soft = Number(s);
  const hard = h === undefined ? soft : Number(h);
  const norm = (n: number): number => (n === -1 ? Infinity : n);
  if (norm(soft) > norm(hard)) fail(`--ulimit ${raw}: the soft limit is above the hard limit`);
  const max = callerHard(type);
  if (norm(hard) > max) {
    fail(`--ulimit ${raw}: the hard limit ${hard} is above minidock's own hard limit ${max} for ${type}; raising it needs CAP_SYS_RESOURCE, which this host does not give — use at most ${max}`);
  }
  return { type, soft: soft === -1 ? -1 : soft, hard: hard === -1 ? -1 : hard };
}

export function callerHardLimit(type: string): number {
  const names: Record<string, string> = {
    cpu: 'Max cpu time', fsize: 'Max file size', data: 'Max data size', stack: 'Max stack size', core: 'Max core file size',
    rss: 'Max resident set', nproc: 'Max processes', nofile: 'Max open files', memlock: 'Max locked memory', as: 'Max address space',
    locks: 'Max file locks', sigpending: 'Max pending signals', msgqueue: 'Max msgqueue size', nice: 'Max nice priority',
    rtprio: 'Max realtime priority', rttime: 'Max realtime timeout',
  };
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith(names[type]));
  const hard = line?.slice(names[type].length).trim().split(/\s+/)[1];
  return !hard || hard === 'unlimited' ? Infinity : Number(hard);
}

const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export interface SecurityChoice {
  noNewPrivileges: boolean;
  seccomp: 'default' | 'unconfined' | { file: string };
}

export function parseSecurityOpts(opts: string[]): SecurityChoice {
  const out: SecurityChoice = { noNewPrivileges: true, seccomp: 'default' };
  for (const o of opts) {
    const [k, ...rest] = o.split(/[=:]/);
    const v = rest.join('=');
    if (k === 'seccomp') {
      if (!v) fail(`--security-opt ${o}: use seccomp=FILE.json or seccomp=unconfined`);
      out.seccomp = v === 'unconfined' ? 'unconfined' : { file: v };
    } else if (k === 'no-new-privileges') {
      if (v !== '' && v !== 'true' && v !== 'false') fail(`--security-opt ${o}: use no-new-privileges=true or =false`);
      out.noNewPrivileges = v !== 'false';
    } else {
      fail(`--security-opt ${o}: unknown option; minidock knows seccomp=… and no-new-privileges=…`);
    }
  }
  return out;
}

/**
 * The capabilities minidock itself holds (CapPrm of /proc/self/status). A process can never give a
 * child more than its own permitted set: capset() refuses with EPERM. Root usually holds all of
 * them, but not always: this project's machines withhold CAP_SYS_RESOURCE (see docs/peers.md).
 */
export function callerPermittedCaps(status = '/proc/self/status'): bigint {
  try {
    // Not root (only --dry-run gets this far): the plan shown is a root launch's, and root's permitted
    // set after exec is the bounding set (capabilities(7): root's file sets count as all ones).
    const field = process.getuid?.() === 0 ? 'CapPrm' : 'CapBnd';
    const m = new RegExp(`^${field}:\\s*([0-9a-f]+)$`, 'm').exec(readFileSync(status, 'utf8'));
    return m ? BigInt('0x' + m[1]) : ~0n;
  } catch {
    return ~0n; // no /proc: let capset() decide
  }
}

/** Keep the capabilities minidock holds; --privileged takes what there is, anything else fails clearly. */
export function limitToHeld(caps: CapName[], privileged: boolean, held = callerPermittedCaps()): CapName[] {
  const has = (c: CapName): boolean => (held >> BigInt(CAPS.indexOf(c))) & 1n ? true : false;
  const missing = caps.filter((c) => !has(c));
  if (missing.length && !privileged) {
    fail(`capabilities ${missing.join(', ')}: minidock itself does not hold ${missing.length > 1 ? 'them' : 'it'} (CapPrm in /proc/self/status), so no container it starts can — leave ${missing.length > 1 ? 'them' : 'it'} out (no --cap-add, or --cap-drop ${missing.map((c) => c.slice(4)).join(' --cap-drop ')}), or run minidock where it holds ${missing.length > 1 ? 'them' : 'it'}`);
  }
  return caps.filter(has);
}

/** What specFromFlags needs of an image: its layers (top first), its ENV, a view of its files. */
export interface ImageView extends RootView {
  lowerDirs: string[];
  env: string[];
}

/** Build the spec; `seccompFor` compiles the chosen profile for the final capability set. */
export function specFromFlags(
  id: string,
  rootfsArg: string,
  args: string[],
  f: RunFlags,
  seccompFor: (choice: SecurityChoice['seccomp'], caps: string[]) => { program?: Uint8Array; name?: string },
  image?: ImageView,
): ContainerSpec {
  // An image (src/image/run-image.ts): its layers are the lower dirs, top first; its config's env
  // comes before -e. Otherwise ROOTFS is the one lower dir.
  const rootfs = image ? image.lowerDirs[0] : posix.resolve(rootfsArg);
  let st;
  try {
    st = statSync(rootfs);
  } catch {
    return fail(`rootfs ${rootfsArg}: no such directory — pass a directory holding a root filesystem (\`npm run build\` makes ./rootfs)`);
  }
  if (!st.isDirectory()) fail(`rootfs ${rootfsArg}: not a directory — pass a directory holding a root filesystem`);
  if (!image && /[,:]/.test(rootfs)) fail(`rootfs ${rootfs}: overlayfs cannot take a lower directory whose path contains "," or ":" — move or link it`);
  if (!args.length || !args[0]) fail('no command given: use minidock run [OPTIONS] ROOTFS CMD [ARG...]');
  // (from an image's config: a command line cannot hold a NUL, execve() would cut the string there)
  for (const a of [...args, f.workdir ?? '']) if (a.includes('\0')) fail(`image config: ${JSON.stringify(a)} (its command or WorkingDir) contains a NUL byte, which no argument or path can hold — fix the image`);
  const view = image ?? dirView(rootfs);

  const hostname = f.hostname ?? id.slice(0, 12);
  if (!HOSTNAME.test(hostname) || hostname.length > 64) fail(`--hostname ${hostname}: use letters, digits, "-" and ".", at most 64 characters`);

  const cwd = f.workdir ?? '/';
  if (!cwd.startsWith('/')) fail(`-w ${cwd}: the working directory must be an absolute path`);

  const user = f.user ? parseUser(view, f.user) : { uid: 0, gid: 0, home: '/root', groups: [0] };

  const env = new Map<string, string>();
  const put = (e: string): void => void env.set(e.slice(0, e.indexOf('=')), e);
  put(`PATH=${DEFAULT_PATH}`);
  put(`HOSTNAME=${hostname}`);
  put(`HOME=${user.home}`);
  for (const e of image?.env ?? []) {
    if (e.includes('\0')) fail(`image config Env ${JSON.stringify(e)}: contains a NUL byte, which no environment variable can hold — fix the image`);
    if (e.includes('=')) put(e); // the image's ENV (Docker: -e wins)
  }
  if (f.tty) put('TERM=xterm');
  for (const file of f.envFile ?? []) parseEnvFile(file).forEach(put);
  for (const raw of f.env ?? []) {
    const e = parseEnvEntry(raw, '-e');
    if (e) put(e);
  }

  const mounts = (f.volume ?? []).map((v) => parseVolume(view, v));
  const sec = parseSecurityOpts(f.securityOpt ?? []);
  const privileged = !!f.privileged;
  const capabilities = limitToHeld(resolveCaps(f.capAdd ?? [], f.capDrop ?? [], privileged), privileged);
  const seccomp = privileged ? {} : seccompFor(sec.seccomp, capabilities);
  const stopTimeoutSec = f.stopTimeout === undefined ? 10 : Number(f.stopTimeout);
  if (!Number.isFinite(stopTimeoutSec) || stopTimeoutSec < 0) fail(`--stop-timeout ${f.stopTimeout}: use a number of seconds ≥ 0`);

  return {
    id, name: f.name, rootfs, ...(image ? { lowerDirs: image.lowerDirs } : {}), args, env: [...env.values()], cwd, hostname,
    uid: user.uid, gid: user.gid, additionalGids: user.groups,
    tty: !!f.tty, ttySize: f.tty && process.stdout.isTTY ? { rows: process.stdout.rows, cols: process.stdout.columns } : undefined,
    interactive: !!f.interactive, readonlyRootfs: !!f.readOnly, mounts,
    capabilities, noNewPrivileges: privileged ? false : sec.noNewPrivileges,
    seccomp: seccomp.program, seccompProfileName: seccomp.name, privileged,
    maskedPaths: privileged ? [] : DEFAULT_MASKED_PATHS, readonlyPaths: privileged ? [] : DEFAULT_READONLY_PATHS,
    rlimits: (f.ulimit ?? []).map((u) => parseUlimit(u, callerHardLimit)),
    limits: parseLimits({
      memory: f.memory, memorySwap: f.memorySwap, memoryReservation: f.memoryReservation, cpus: f.cpus, cpu: f.cpu,
      cpuShares: f.cpuShares, cpuWeight: f.cpuWeight, cpusetCpus: f.cpusetCpus, pidsLimit: f.pidsLimit, pids: f.pids,
    }),
    cgroupParent: f.cgroupParent ?? (process.env.MINIDOCK_CGROUP_PARENT || undefined), stopTimeoutSec,
  };
}
