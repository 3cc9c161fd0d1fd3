// An OCI bundle's config.json -> minidock's ContainerSpec (src/runtime/spec.ts), the spec that
// buildPlan() turns into the child's steps.
//
// The OCI runtime spec (github.com/opencontainers/runtime-spec, config.md and config-linux.md) says
// what a container is as data; minidock's ContainerSpec is a subset of it. This module reads the
// file, checks every field it knows (a wrong type is one line naming the field: `config.json:
// process.user.uid must be ...`) and maps what the spec can express. What it cannot express yet is
// either refused (a container that would silently differ from what was asked: other namespaces,
// in-container hooks, user mappings ...) or, where runc also goes on without it, returned as a warning for the
// command to print (an AppArmor profile on a host without AppArmor). docs/oci.md lists each field.
//
// Library code: it returns values and throws MinidockError; it never prints.
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, posix, resolve } from 'node:path';
import { fail, MinidockError } from '../errors.js';
import { CAPS, type CapName } from '../runtime/capabilities.js';
import type { Limits } from '../runtime/limits.js';
import { dirView, parseVolume } from '../runtime/rootfs-view.js';
import { MS, RLIMIT } from '../sys/constants.js';
import { DEVICE_RULES, parseDeviceRule } from '../runtime/cgroups/device-bpf.js';
import type { BindMount, ContainerSpec, Rlimit } from '../runtime/spec.js';
import { validateProfile, type SeccompProfile } from '../runtime/seccomp/profile.js';
import { checkRanges, type IdRange, type UserNamespace } from '../runtime/id-maps.js';
import { OTHER_ARCH_SYSCALLS, syscallNumber } from '../runtime/seccomp/syscalls-x86_64.js';
import { HOOK_POINTS, type Hook, type Hooks } from './hooks.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown): string => JSON.stringify(v) ?? String(v);

/** The namespace types of config-linux.md, and the clone flag each one is. */
export const OCI_NAMESPACES = ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup', 'time'] as const;
export type OciNamespace = (typeof OCI_NAMESPACES)[number];

/** The namespaces every minidock launch makes (build-plan.ts cloneFlags(), and cgroup after the join). */
export const PLAN_NAMESPACES: readonly OciNamespace[] = ['pid', 'network', 'mount', 'ipc', 'uts', 'cgroup'];

/**
 * The mounts every minidock launch makes itself (build-plan.ts, step 4): a config.json that lists
 * them (runc spec's does) gets minidock's own, with minidock's options.
 */
export const PLAN_MOUNTS: Readonly<Record<string, string>> = {
  '/proc': 'proc',
  '/dev': 'tmpfs',
  '/dev/pts': 'devpts',
  '/dev/shm': 'tmpfs',
  '/dev/mqueue': 'mqueue',
  '/sys': 'sysfs',
  '/sys/fs/cgroup': 'cgroup',
};

/** What a bundle asks for, beyond ContainerSpec: carried for the create/start verbs. */
export interface OciExtras {
  /** namespaces to join rather than create: the child's SETNS op (plan.ts) */
  joinNamespaces: Array<{ type: OciNamespace; path: string }>;
  /** namespaces config.json leaves out: the container shares the runtime's (oci/launch.ts sharedNamespaces) */
  sharedNamespaces: OciNamespace[];
  /** written to /proc/PID/oom_score_adj by the parent before start */
  oomScoreAdj?: number;
  /** the container's cgroup as the engine named it (runc: a path, or "slice:prefix:name" with systemd) */
  cgroupsPath?: string;
  sysctl: Record<string, string>;
  annotations: Record<string, string>;
  /** the seccomp profile as given (for `features`, `--dry-run`); ContainerSpec.seccomp is its program */
  seccompProfile?: SeccompProfile;
  /** process.capabilities.ambient (root only): raised by the plan's CAPSET step */
  ambient: CapName[];
  /** hooks.*: run by create, start and delete (hooks.ts) */
  hooks: Hooks;
  /** a non-root user's effective, permitted and inheritable sets (root's are the bounding set): create's CAPSET */
  userCaps?: { effective: CapName[]; permitted: CapName[]; inheritable: CapName[] };
  /** linux.rootfsPropagation other than (r)private: MS_SHARED/MS_SLAVE/MS_UNBINDABLE (|MS_REC) for "/" after pivot_root */
  rootfsPropagation?: number;
  /** process.user.umask: the plan's UMASK step */
  umask?: number;
  /** linux.devices: MKNOD steps in the container's /dev */
  devices: OciDevice[];
  /** bind mounts with nosuid/nodev/noexec (Podman's /dev/shm): the remount that sets them (launch.ts) */
  bindFlags: Array<{
    mount: BindMount;
    options: Array<'nosuid' | 'nodev' | 'noexec' | 'strictatime' | 'noatime'>;
    propagation?: number;
  }>;
  /** tmpfs mounts besides the plan's own (containerd's /run): mounted by a step launch.ts adds */
  tmpfs: Array<{ destination: string; flags: number; data: string; propagation?: number; beforeBind?: number }>;
}

/** One linux.devices entry: a node the plan makes (mknod, chmod, chown) in the container. */
export interface OciDevice {
  path: string;
  /** S_IFCHR, S_IFBLK or S_IFIFO with the permission bits */
  mode: number;
  major: number;
  minor: number;
  uid: number;
  gid: number;
}

export interface OciConfig {
  spec: ContainerSpec;
  extras: OciExtras;
  /** one line each: fields ignored the way runc ignores them (the command prints them) */
  warnings: string[];
  /** what runc only logs at debug level (an engine's seccomp names libseccomp skips): shown with --debug */
  debug: string[];
}

/** What mapping needs from the host; tests pass their own. */
export interface MapOptions {
  /** minidock's id for the container (64 hex characters) */
  id: string;
  /** the OCI container ID the engine chose */
  name: string;
  /** compiles a seccomp profile for the container's capabilities (seccomp/compile.ts compileProfile) */
  compileSeccomp?: (profile: SeccompProfile, caps: readonly string[]) => Uint8Array;
  /** the hostname a new UTS namespace starts with (a copy of the host's), when config.json sets none */
  hostHostname?: () => string;
  /** is AppArmor enabled on this host? (runc ignores apparmorProfile when it is not) */
  apparmorEnabled?: () => boolean;
}

/** Read BUNDLE/config.json and check that it is a JSON object (no mapping yet). */
export function readBundleConfig(bundle: string): Obj {
  const file = posix.join(bundle, 'config.json');
  let st;
  try {
    st = statSync(bundle);
  } catch {
    return fail(
      `bundle ${bundle}: no such directory — pass --bundle DIR, a directory holding config.json and the rootfs (\`minidock-oci spec\` writes a config.json)`,
    );
  }
  if (!st.isDirectory()) fail(`bundle ${bundle}: not a directory — pass --bundle DIR, a directory holding config.json`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return fail(
      code === 'ENOENT'
        ? `${file}: no such file — a bundle needs a config.json (\`minidock-oci spec\` or \`runc spec\` writes a default one)`
        : `${file}: cannot read it (${code ?? (e as Error).message})`,
    );
  }
  return parseConfigText(text, file);
}

/** config.json text -> a JSON object; malformed JSON is one line with where it broke. */
export function parseConfigText(text: string, source = 'config.json'): Obj {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return fail(
      `${source}: not valid JSON (${(e as Error).message}) — fix the file or regenerate it with \`minidock-oci spec\``,
    );
  }
  if (!isObj(json))
    fail(`${source}: the top level must be a JSON object, got ${Array.isArray(json) ? 'an array' : typeof json}`);
  return json;
}

/**
 * A checked view of one JSON object: each getter names the field's full path in its error.
 * Unknown keys are collected, not refused: the runtime spec says a runtime MUST ignore properties
 * it does not know (config.md), so they become warnings.
 */
export class Fields {
  constructor(
    private readonly o: Obj,
    private readonly where: string,
    private readonly unknown: string[],
    known: readonly string[],
    /** what the errors name: config.json, or update's resources */
    private readonly source = 'config.json',
  ) {
    for (const k of Object.keys(o)) if (!known.includes(k)) unknown.push(this.path(k));
  }
  path(k: string): string {
    return this.where ? `${this.where}.${k}` : k;
  }
  bad(k: string, what: string): never {
    return fail(`${this.source}: ${this.path(k)} must be ${what}, got ${show(this.o[k])}`);
  }
  has(k: string): boolean {
    return this.o[k] !== undefined && this.o[k] !== null;
  }
  str(k: string): string | undefined {
    const v = this.o[k];
    if (v === undefined || v === null) return undefined;
    return typeof v === 'string' ? v : this.bad(k, 'a string');
  }
  bool(k: string): boolean | undefined {
    const v = this.o[k];
    if (v === undefined || v === null) return undefined;
    return typeof v === 'boolean' ? v : this.bad(k, 'true or false');
  }
  int(k: string, lo = -Number.MAX_SAFE_INTEGER, hi = Number.MAX_SAFE_INTEGER): number | undefined {
    const v = this.o[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi)
      return this.bad(k, `an integer from ${lo} to ${hi}`);
    return v;
  }
  strings(k: string): string[] | undefined {
    const v = this.o[k];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) return this.bad(k, 'a list of strings');
    return v as string[];
  }
  list(k: string): unknown[] | undefined {
    const v = this.o[k];
    if (v === undefined || v === null) return undefined;
    return Array.isArray(v) ? v : this.bad(k, 'a list');
  }
  obj(k: string, known: readonly string[]): Fields | undefined {
    const v = this.o[k];
    if (v === undefined || v === null) return undefined;
    if (!isObj(v)) return this.bad(k, 'an object');
    return new Fields(v, this.path(k), this.unknown, known, this.source);
  }
  /** element i of list k, as an object */
  item(k: string, i: number, v: unknown, known: readonly string[]): Fields {
    if (!isObj(v)) fail(`${this.source}: ${this.path(k)}[${i}] must be an object, got ${show(v)}`);
    return new Fields(v, `${this.path(k)}[${i}]`, this.unknown, known, this.source);
  }
  stringMap(k: string): Record<string, string> {
    const v = this.o[k];
    if (v === undefined || v === null) return {};
    if (!isObj(v) || Object.values(v).some((s) => typeof s !== 'string')) return this.bad(k, 'an object of strings');
    return v as Record<string, string>;
  }
  raw(k: string): unknown {
    return this.o[k];
  }
}

/** Mount propagation, runc's table: the mount(2) flags of linux.rootfsPropagation and of a mount's options. */
const PROPAGATION: Readonly<Record<string, number>> = {
  private: MS.MS_PRIVATE,
  rprivate: MS.MS_PRIVATE | MS.MS_REC,
  slave: MS.MS_SLAVE,
  rslave: MS.MS_SLAVE | MS.MS_REC,
  shared: MS.MS_SHARED,
  rshared: MS.MS_SHARED | MS.MS_REC,
  unbindable: MS.MS_UNBINDABLE,
  runbindable: MS.MS_UNBINDABLE | MS.MS_REC,
};

/** A mount's propagation option (the last one given), or undefined. */
function propagationOf(options: string[]): number | undefined {
  const given = options.filter((o) => o in PROPAGATION);
  return given.length ? PROPAGATION[given[given.length - 1]!] : undefined;
}

/** A field minidock knows but cannot do yet: one line, naming it and the way around. */
function notYet(field: string, why: string): never {
  return fail(
    `config.json: ${field} is not supported by minidock yet (${why}) — remove it from config.json or use runc/crun for this bundle (see docs/oci.md)`,
  );
}

const uint32 = 0xffffffff;

/** Map a parsed config.json onto a ContainerSpec; `bundle` is the directory it came from. */
export function mapConfig(json: Obj, bundle: string, opts: MapOptions): OciConfig {
  const unknown: string[] = [];
  const warnings: string[] = [];
  const debug: string[] = [];
  const top = new Fields(json, '', unknown, [
    'ociVersion',
    'process',
    'root',
    'hostname',
    'domainname',
    'mounts',
    'hooks',
    'annotations',
    'linux',
  ]);

  const version = top.str('ociVersion');
  if (version === undefined)
    fail(
      'config.json: ociVersion is missing — every config.json names the runtime-spec version it follows (e.g. "1.0.2")',
    );
  if (!/^1\.\d+\.\d+(-[0-9A-Za-z.+-]+)?$/.test(version))
    fail(
      `config.json: ociVersion ${show(version)} is not a 1.x runtime-spec version (e.g. "1.0.2"); minidock reads runtime-spec 1.x`,
    );

  // each part of config.json in turn, in this order (the first refusal is the one reported)
  const { root, rootfs } = mapRoot(top, bundle);
  const proc = mapProcess(top, opts, warnings);

  // --- hostname, hooks ---
  const hostname = top.str('hostname');
  if (hostname !== undefined && (hostname.length > 64 || hostname.includes('\0')))
    fail(`config.json: hostname ${show(hostname)} must be at most 64 bytes`);
  if (top.has('domainname') && top.str('domainname') !== '')
    notYet('domainname', 'the launch plan has no setdomainname step yet');
  const hooks = mapHooks(top.obj('hooks', HOOK_POINTS));
  const annotations = top.stringMap('annotations');

  const linux = mapLinux(top, warnings);
  checkShared(linux, hostname, proc.terminal, warnings);

  // --- mounts ---
  const readonlyRootfs = root.bool('readonly') ?? false;
  const bindFlags: OciExtras['bindFlags'] = [];
  const tmpfs: OciExtras['tmpfs'] = [];
  const mounts = mapMounts(top, rootfs, bundle, bindFlags, tmpfs);
  // (a bind inside a tmpfs: the plan makes the bind's mount point in the rootfs, where the tmpfs hides it)
  for (const t of tmpfs) {
    const inside = mounts.find((b) => b.destination.startsWith(`${t.destination}/`));
    if (inside)
      notYet(
        `a bind mount (${inside.destination}) inside a tmpfs mount (${t.destination})`,
        'the tmpfs is mounted after the bind mounts',
      );
  }

  const mapped = mapSeccomp(linux.fields, opts, proc.capabilities, debug);
  const { seccompProfile } = mapped;

  for (const u of unknown)
    warnings.push(
      `config.json: unknown field ${u} ignored (the runtime spec says runtimes ignore what they do not know)`,
    );

  const spec = specOf(opts, proc, linux, { rootfs, hostname, readonlyRootfs, mounts, ...mapped });
  const { joinNamespaces, sharedNamespaces, cgroupsPath, sysctl, devices, rootfsPropagation } = linux;
  const { oomScoreAdj, ambient, umask, userCaps } = proc;
  return {
    spec,
    extras: {
      joinNamespaces,
      sharedNamespaces,
      oomScoreAdj,
      cgroupsPath,
      sysctl,
      annotations,
      seccompProfile,
      ambient,
      hooks,
      umask,
      devices,
      userCaps,
      rootfsPropagation,
      bindFlags,
      tmpfs,
    },
    warnings,
    debug,
  };
}

/** root: the bundle's rootfs, a directory that exists; its Fields (root.readonly is read with the mounts). */
function mapRoot(top: Fields, bundle: string): { root: Fields; rootfs: string } {
  // the bundle's rootfs is used as given (OCI runtimes add no overlay)
  const root = top.obj('root', ['path', 'readonly']);
  if (!root) return fail('config.json: root is missing — it names the rootfs directory (e.g. {"path": "rootfs"})');
  const rootPath = root.str('path');
  if (!rootPath)
    return fail(
      'config.json: root.path is missing or empty — name the rootfs directory, relative to the bundle (e.g. "rootfs")',
    );
  const rootfs = resolve(bundle, rootPath);
  try {
    if (!statSync(rootfs).isDirectory())
      fail(
        `config.json: root.path ${rootPath} (${rootfs}) is not a directory — it must be the container's root filesystem`,
      );
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      fail(
        `config.json: root.path ${rootPath}: ${rootfs} does not exist — unpack a root filesystem there (e.g. tar -C ${rootfs} -xf rootfs.tar)`,
      );
    throw e;
  }
  return { root, rootfs };
}

/** process.user: the ids the program runs as (numbers: OCI bundles name users by id), and its umask. */
function mapUser(proc: Fields) {
  const user = proc.obj('user', ['uid', 'gid', 'umask', 'additionalGids', 'username']);
  if (!user) return fail('config.json: process.user is missing — give at least {"uid": 0, "gid": 0}');
  const uid = user.int('uid', 0, uint32 - 1);
  const gid = user.int('gid', 0, uint32 - 1);
  if (uid === undefined || gid === undefined)
    fail('config.json: process.user.uid and process.user.gid are required (numbers: OCI bundles name users by id)');
  const additionalGids =
    user.list('additionalGids')?.map((g, i) => {
      if (typeof g !== 'number' || !Number.isInteger(g) || g < 0 || g >= uint32)
        fail(`config.json: process.user.additionalGids[${i}] must be a group id, got ${show(g)}`);
      return g as number;
    }) ?? [];
  // the plan's UMASK step, right before the program (absent: 0022, runc's default, what a launch inherits)
  const umask = user.int('umask', 0, 0o777);
  return { uid: uid!, gid: gid!, additionalGids, umask };
}

/** process: what runs (args, env, cwd), as whom (process.user), with which terminal, capabilities and rlimits. */
function mapProcess(top: Fields, opts: MapOptions, warnings: string[]) {
  const proc = top.obj('process', [
    'terminal',
    'consoleSize',
    'user',
    'args',
    'commandLine',
    'env',
    'cwd',
    'capabilities',
    'rlimits',
    'noNewPrivileges',
    'apparmorProfile',
    'oomScoreAdj',
    'selinuxLabel',
    'ioPriority',
    'scheduler',
    'execCPUAffinity',
  ]);
  if (!proc)
    return fail(
      'config.json: process is missing — it names what to run (process.args, process.cwd); `minidock-oci create` needs it',
    );
  const args = proc.strings('args');
  if (!args || args.length === 0 || !args[0])
    fail('config.json: process.args is missing or empty — name the program to run, e.g. ["sh"]');
  if (proc.has('commandLine')) notYet('process.commandLine', 'it is for Windows; use process.args');
  const env = proc.strings('env') ?? [];
  env.forEach((e, i) => {
    if (!/^[^=]+=/.test(e)) fail(`config.json: process.env[${i}] ${show(e)} must be KEY=VALUE`);
  });
  for (const a of [...args, ...env])
    if (a.includes('\0'))
      fail(`config.json: ${show(a)} in process.args or process.env contains a NUL byte, which no argument can hold`);
  const cwd = proc.str('cwd');
  if (cwd === undefined)
    fail(
      'config.json: process.cwd is missing — the working directory, an absolute path inside the container (e.g. "/")',
    );
  if (!cwd.startsWith('/')) fail(`config.json: process.cwd ${show(cwd)} must be an absolute path inside the container`);

  const { uid, gid, additionalGids, umask } = mapUser(proc);

  const terminal = proc.bool('terminal') ?? false;
  const consoleSize = proc.obj('consoleSize', ['height', 'width']);
  const ttySize = consoleSize
    ? { rows: consoleSize.int('height', 0, 0xffff) ?? 0, cols: consoleSize.int('width', 0, 0xffff) ?? 0 }
    : undefined;

  const { capabilities, ambient, userCaps } = mapCapabilities(
    proc.obj('capabilities', ['bounding', 'effective', 'inheritable', 'permitted', 'ambient']),
    uid!,
  );
  const rlimits = (proc.list('rlimits') ?? []).map((r, i) =>
    mapRlimit(proc.item('rlimits', i, r, ['type', 'soft', 'hard']), i),
  );
  const noNewPrivileges = proc.bool('noNewPrivileges') ?? false;
  const oomScoreAdj = proc.int('oomScoreAdj', -1000, 1000);
  const apparmor = proc.str('apparmorProfile');
  if (apparmor) {
    // runc applies the profile only where AppArmor is enabled and ignores it elsewhere; minidock
    // does not load profiles at all yet, so where it is enabled the profile would be silently lost.
    if (opts.apparmorEnabled?.() ?? false)
      notYet(
        'process.apparmorProfile',
        'minidock does not apply AppArmor profiles yet, and AppArmor is enabled on this host',
      );
    warnings.push(
      `config.json: process.apparmorProfile ${show(apparmor)} ignored: AppArmor is not enabled on this host (runc ignores it too)`,
    );
  }
  if (proc.str('selinuxLabel'))
    warnings.push('config.json: process.selinuxLabel ignored: minidock does not support SELinux');
  for (const k of ['ioPriority', 'scheduler', 'execCPUAffinity'])
    if (proc.has(k)) notYet(`process.${k}`, 'a runtime-spec 1.2 field the launch plan has no step for');
  return {
    args: args!,
    env,
    cwd: cwd!,
    uid: uid!,
    gid: gid!,
    additionalGids,
    umask,
    terminal,
    ttySize,
    capabilities,
    ambient,
    userCaps,
    rlimits,
    noNewPrivileges,
    oomScoreAdj,
  };
}

/** The ContainerSpec of config.json's mapped parts (mapConfig's last step). */
function specOf(
  opts: MapOptions,
  proc: ReturnType<typeof mapProcess>,
  linux: ReturnType<typeof mapLinux>,
  parts: { rootfs: string; hostname?: string; readonlyRootfs: boolean; mounts: BindMount[] } & ReturnType<
    typeof mapSeccomp
  >,
): ContainerSpec {
  const { args, env, cwd, uid, gid, additionalGids, terminal, ttySize, capabilities, noNewPrivileges, rlimits } = proc;
  const { userns, maskedPaths, readonlyPaths, limits } = linux;
  const { rootfs, hostname, readonlyRootfs, mounts, seccomp, seccompProfile } = parts;
  return {
    id: opts.id,
    name: opts.name,
    rootfs,
    args,
    env,
    cwd,
    hostname: hostname ?? opts.hostHostname?.() ?? '',
    uid,
    gid,
    additionalGids: [...new Set([gid, ...additionalGids])],
    tty: terminal,
    ttySize,
    interactive: terminal,
    readonlyRootfs,
    mounts,
    capabilities,
    // OCI: no seccomp field means no filter (unlike Docker, whose default is a profile)
    noNewPrivileges,
    seccomp,
    seccompProfileName: seccompProfile ? '(config.json linux.seccomp)' : undefined,
    privileged: false,
    maskedPaths,
    readonlyPaths,
    rlimits,
    limits,
    stopTimeoutSec: 10,
    userns,
  };
}

/** linux: namespaces, devices, propagation, sysctl, the cgroup and its resources, masked and read-only paths. */
function mapLinux(top: Fields, warnings: string[]) {
  const linux =
    top.obj('linux', [
      'namespaces',
      'uidMappings',
      'gidMappings',
      'timeOffsets',
      'devices',
      'netDevices',
      'cgroupsPath',
      'rootfsPropagation',
      'seccomp',
      'sysctl',
      'resources',
      'maskedPaths',
      'readonlyPaths',
      'mountLabel',
      'intelRdt',
      'personality',
      'memoryPolicy',
    ]) ?? fail('config.json: linux is missing — a Linux container needs at least linux.namespaces');
  const { join: joinNamespaces, shared: sharedNamespaces } = mapNamespaces(linux, warnings);
  const userns = mapIdMappings(linux);
  for (const k of ['timeOffsets', 'netDevices', 'intelRdt', 'personality', 'memoryPolicy'])
    if (linux.has(k)) notYet(`linux.${k}`, 'the launch plan has no step for it');
  const devices = mapDevices(linux);
  // (the plan makes every mount MS_REC|MS_PRIVATE first, build-plan.ts: "rprivate")
  const propagation = linux.str('rootfsPropagation') ?? '';
  if (propagation !== '' && !(propagation in PROPAGATION))
    fail(
      `config.json: linux.rootfsPropagation ${show(propagation)} must be one of ${Object.keys(PROPAGATION).join(', ')}`,
    );
  const rootfsPropagation = ['', 'private', 'rprivate'].includes(propagation) ? undefined : PROPAGATION[propagation];
  if (linux.str('mountLabel'))
    warnings.push('config.json: linux.mountLabel ignored: minidock does not support SELinux');
  const sysctl = linux.stringMap('sysctl');
  const cgroupsPath = linux.str('cgroupsPath');
  const maskedPaths = absolutePaths(linux, 'maskedPaths');
  const readonlyPaths = absolutePaths(linux, 'readonlyPaths');
  const limits = mapResources(
    warnings,
    linux.obj('resources', [
      'devices',
      'memory',
      'cpu',
      'pids',
      'blockIO',
      'hugepageLimits',
      'network',
      'rdma',
      'unified',
    ]),
  );
  return {
    fields: linux,
    joinNamespaces,
    sharedNamespaces,
    userns,
    devices,
    rootfsPropagation,
    sysctl,
    cgroupsPath,
    maskedPaths,
    readonlyPaths,
    limits,
  };
}

/**
 * linux.uidMappings/gidMappings: a user namespace (listed in linux.namespaces without a path) and
 * its maps, written by create into /proc/PID/uid_map and gid_map while the child waits at SYNC
 * (handshake.ts writeIdMaps: root may map any host ids). Mappings without a user namespace, or a
 * user namespace without them, are refused (runc refuses both).
 */
function mapIdMappings(linux: Fields): UserNamespace | undefined {
  const wanted = (linux.list('namespaces') ?? []).some((n) => (n as Obj | null)?.type === 'user');
  const maps = (['uidMappings', 'gidMappings'] as const).map((k) =>
    (linux.list(k) ?? []).map((m, i) => {
      const f = linux.item(k, i, m, ['containerID', 'hostID', 'size']);
      const [container, host, size] = [
        f.int('containerID', 0, uint32 - 1),
        f.int('hostID', 0, uint32 - 1),
        f.int('size', 1, uint32),
      ];
      if (container === undefined || host === undefined || size === undefined)
        fail(`config.json: linux.${k}[${i}] needs containerID, hostID and size (numbers)`);
      return { container: container!, host: host!, size: size! };
    }),
  );
  const [uidMap, gidMap] = maps as [IdRange[], IdRange[]];
  if (!wanted) {
    if (uidMap.length || gidMap.length)
      fail(
        'config.json: linux.uidMappings/gidMappings need a user namespace — add {"type": "user"} to linux.namespaces',
      );
    return undefined;
  }
  if (!uidMap.length || !gidMap.length)
    fail(
      'config.json: a user namespace needs both linux.uidMappings and linux.gidMappings (e.g. [{"containerID": 0, "hostID": 100000, "size": 65536}])',
    );
  checkRanges('config.json: linux.uidMappings', uidMap);
  checkRanges('config.json: linux.gidMappings', gidMap);
  return { uidMap, gidMap, setgroups: 'allow', writer: 'write' };
}

/** linux.seccomp: OCI's is Docker's profile format without includes/excludes; compiled by the caller's compiler. */
function mapSeccomp(
  linux: Fields,
  opts: MapOptions,
  capabilities: CapName[],
  debug: string[],
): { seccomp?: Uint8Array; seccompProfile?: SeccompProfile } {
  const seccompJson = linux.raw('seccomp');
  let seccompProfile: SeccompProfile | undefined;
  let seccomp: Uint8Array | undefined;
  if (seccompJson !== undefined && seccompJson !== null) {
    seccompProfile = ociSeccomp(seccompJson, debug);
    if (!opts.compileSeccomp) fail('internal: mapConfig was given a seccomp profile but no compiler');
    seccomp = opts.compileSeccomp(seccompProfile, capabilities);
  }
  return { seccomp, seccompProfile };
}

/**
 * The plan gives one capability list to the bounding, effective, permitted and inheritable sets of a
 * root process, none in effect to another user, and clears the ambient set. For root, a config.json
 * whose sets say the same is mapped, others refused rather than run with other powers than asked
 * for; for another user, the sets are carried as given (`userCaps`: create's CAPSET step sets them
 * after the setuid).
 */
function mapCapabilities(
  caps: Fields | undefined,
  uid: number,
): { capabilities: CapName[]; ambient: CapName[]; userCaps?: OciExtras['userCaps'] } {
  if (!caps) return { capabilities: [], ambient: [] };
  const set = (k: string): CapName[] =>
    (caps.strings(k) ?? []).map((c, i) => {
      if (!(CAPS as readonly string[]).includes(c))
        fail(
          `config.json: process.capabilities.${k}[${i}] ${show(c)} is not a capability name (e.g. CAP_NET_RAW; see capabilities(7))`,
        );
      return c as CapName;
    });
  const bounding = set('bounding');
  const same = (a: CapName[]): boolean => a.length === new Set(bounding).size && a.every((c) => bounding.includes(c));
  const effective = set('effective');
  const permitted = set('permitted');
  const ambient = set('ambient');
  // root: checked; the plan sets it to the bounding set, which only matters for a later execve of a file with inheritable file caps
  const inheritable = set('inheritable');
  if (uid === 0) {
    // execve() as root recomputes the permitted and effective sets as the whole bounding set
    // (capabilities(7), "Capabilities and execution of programs by root"): for root, what counts is
    // the bounding set, and ambient adds nothing to it — but it shows (CapAmb), so create raises it.
    if (!same(effective) || !same(permitted))
      notYet(
        'process.capabilities with effective or permitted sets other than bounding',
        'the plan gives root the bounding set in effect',
      );
    // (a capability enters the ambient set only from permitted and inheritable: the bounding set here)
    const extra = ambient.filter((c) => !bounding.includes(c));
    if (extra.length)
      fail(
        `config.json: process.capabilities.ambient ${extra.join(', ')} not in the bounding set — an ambient capability must also be permitted and inheritable`,
      );
  } else if (effective.length > 0 || permitted.length > 0 || ambient.length > 0 || inheritable.length > 0) {
    // A non-root user's execve() keeps only what is ambient (permitted and effective become the
    // ambient set, capabilities(7) "Transformation of capabilities during execve()"), and the
    // kernel refuses an ambient capability that is not both permitted and inheritable: said here.
    const missing = ambient.filter((c) => !permitted.includes(c) || !inheritable.includes(c));
    if (missing.length)
      fail(
        `config.json: process.capabilities.ambient ${missing.join(', ')} not in both permitted and inheritable — the kernel raises an ambient capability only from those`,
      );
    const extra = effective.filter((c) => !permitted.includes(c));
    if (extra.length)
      fail(
        `config.json: process.capabilities.effective ${extra.join(', ')} not in permitted — an effective capability must be permitted`,
      );
    const only = (list: CapName[]): CapName[] => CAPS.filter((c) => list.includes(c));
    return {
      capabilities: only(bounding),
      ambient: only(ambient),
      userCaps: { effective: only(effective), permitted: only(permitted), inheritable: only(inheritable) },
    };
  }
  return {
    capabilities: CAPS.filter((c) => bounding.includes(c)),
    ambient: uid === 0 ? CAPS.filter((c) => ambient.includes(c)) : [],
  };
}

/** hooks: each point a list of {path, args, env, timeout}, checked; run by hooks.ts. */
function mapHooks(hooks: Fields | undefined): Hooks {
  const out: Hooks = {};
  if (!hooks) return out;
  for (const point of HOOK_POINTS) {
    const list = (hooks.list(point) ?? []).map((h, i): Hook => {
      const f = hooks.item(point, i, h, ['path', 'args', 'env', 'timeout']);
      const path = f.str('path');
      if (!path || !isAbsolute(path)) return f.bad('path', 'an absolute path to the hook program, on the host');
      const env = f.strings('env');
      env?.forEach((e, j) => {
        if (!/^[^=]+=/.test(e)) fail(`config.json: ${f.path('env')}[${j}] ${show(e)} must be KEY=VALUE`);
      });
      const timeout = f.int('timeout', 1);
      return { path, args: f.strings('args'), env, timeout };
    });
    if (list.length === 0) continue;
    // (createContainer and startContainer run inside the container: HOOK steps of the plan, launch.ts)
    out[point] = list;
  }
  return out;
}

/** linux.devices: c/u (character), b (block), p (fifo) nodes with their numbers, mode and owner. */
function mapDevices(linux: Fields): OciDevice[] {
  const TYPES: Record<string, number> = { c: 0o020000, u: 0o020000, b: 0o060000, p: 0o010000 };
  return (linux.list('devices') ?? []).map((d, i) => {
    const f = linux.item('devices', i, d, ['path', 'type', 'major', 'minor', 'fileMode', 'uid', 'gid']);
    const path = f.str('path');
    if (!path?.startsWith('/') || posix.normalize(path) !== path)
      return f.bad('path', 'an absolute, normalized path inside the container (e.g. /dev/fuse)');
    const type = f.str('type') ?? '';
    if (!(type in TYPES)) return f.bad('type', 'c, b, u or p');
    // (major and minor are required except for a fifo, which has none)
    const major = f.int('major', 0, 0xfffff) ?? (type === 'p' ? 0 : f.bad('major', 'a device major number'));
    const minor = f.int('minor', 0, 0xfffff) ?? (type === 'p' ? 0 : f.bad('minor', 'a device minor number'));
    const perm = f.int('fileMode', 0, 0o7777) ?? 0o666;
    return {
      path,
      mode: TYPES[type]! | perm,
      major,
      minor,
      uid: f.int('uid', 0, uint32 - 1) ?? 0,
      gid: f.int('gid', 0, uint32 - 1) ?? 0,
    };
  });
}

function mapRlimit(r: Fields, i: number): Rlimit {
  const type = r.str('type');
  const name = /^RLIMIT_([A-Z]+)$/.exec(type ?? '')?.[1]?.toLowerCase();
  if (!name || !(name in RLIMIT))
    fail(
      `config.json: process.rlimits[${i}].type ${show(type)} must be one of ${Object.keys(RLIMIT)
        .map((k) => `RLIMIT_${k.toUpperCase()}`)
        .join(', ')}`,
    );
  // (JSON numbers: RLIM_INFINITY, 2^64-1, arrives rounded; anything above 2^53 is taken as unlimited)
  const num = (k: string): number => {
    const v = r.raw(k);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) return r.bad(k, 'a non-negative integer');
    return v > Number.MAX_SAFE_INTEGER ? -1 : v;
  };
  const soft = num('soft');
  const hard = num('hard');
  const norm = (n: number): number => (n === -1 ? Infinity : n);
  if (norm(soft) > norm(hard)) fail(`config.json: process.rlimits[${i}] (${type}): soft ${soft} is above hard ${hard}`);
  return { type: name!, soft, hard };
}

function absolutePaths(f: Fields, k: string): string[] {
  const list = f.strings(k) ?? [];
  list.forEach((p, i) => {
    if (!p.startsWith('/'))
      fail(`config.json: ${f.path(k)}[${i}] ${show(p)} must be an absolute path inside the container`);
  });
  return list;
}

/**
 * linux.namespaces: those to join by path, and those left out, which the container shares with the
 * runtime (config-linux.md). The plan makes the others: pid, network, mount, ipc and uts in clone(),
 * cgroup unshared after the cgroup join (build-plan.ts).
 */
function mapNamespaces(
  linux: Fields,
  warnings: string[],
): { join: OciExtras['joinNamespaces']; shared: OciNamespace[] } {
  const list = linux.list('namespaces') ?? [];
  const seen = new Set<OciNamespace>();
  const join: OciExtras['joinNamespaces'] = [];
  list.forEach((n, i) => {
    const f = linux.item('namespaces', i, n, ['type', 'path']);
    const type = f.str('type');
    if (!(OCI_NAMESPACES as readonly string[]).includes(type ?? ''))
      fail(`config.json: linux.namespaces[${i}].type ${show(type)} must be one of ${OCI_NAMESPACES.join(', ')}`);
    const t = type as OciNamespace;
    if (seen.has(t)) fail(`config.json: linux.namespaces lists ${t} twice — keep one`);
    seen.add(t);
    if (t === 'time') notYet(`linux.namespaces type ${t}`, `the launch plan does not make ${t} namespaces`);
    const path = f.str('path');
    if (t === 'user' && path)
      notYet('linux.namespaces: joining a user namespace by path', 'the plan makes its own user namespace only');
    if (path) {
      if (!isAbsolute(path))
        fail(
          `config.json: linux.namespaces[${i}].path ${show(path)} must be an absolute path (e.g. /proc/1234/ns/${t === 'network' ? 'net' : t})`,
        );
      // Joining is the child's SETNS op (plan.ts): setns(open(path), CLONE_NEW*), instead of the flag in clone().
      join.push({ type: t, path });
    }
  });
  const shared = PLAN_NAMESPACES.filter((t) => !seen.has(t));
  // The cgroup namespace is shared only along with the mount namespace: a container with mounts of
  // its own gets its cgroups at /sys/fs/cgroup through a cgroup namespace rooted at its cgroup (on
  // v1, a cgroup filesystem mounted outside one would show the host's whole tree); seeing less
  // than asked, never more, that one is a warning.
  if (shared.includes('cgroup') && !shared.includes('mount')) {
    warnings.push(
      'config.json: linux.namespaces has no cgroup namespace; minidock gives every container its own anyway (it sees its cgroup as /)',
    );
    return { join, shared: shared.filter((t) => t !== 'cgroup') };
  }
  return { join, shared };
}

/**
 * What a shared namespace cannot take: a hostname without a UTS namespace of its own (it would be
 * the host's, runc refuses it too); without a mount namespace the container runs in the host's
 * mounts and root directory — nothing is mounted (runc prepares a rootfs only in a new mount
 * namespace), and sysctls, device nodes and a terminal, which the plan makes in the container's
 * /proc/sys and /dev, would be the host's: refused.
 */
function checkShared(
  linux: { sharedNamespaces: OciNamespace[]; sysctl: Record<string, string>; devices: unknown[] },
  hostname: string | undefined,
  terminal: boolean,
  warnings: string[],
): void {
  const shared = linux.sharedNamespaces;
  if (shared.includes('uts') && hostname)
    fail(
      `config.json: hostname ${show(hostname)} needs a UTS namespace of its own — add {"type": "uts"} to linux.namespaces, or remove hostname`,
    );
  if (!shared.includes('mount')) return;
  for (const [what, given] of [
    ['linux.sysctl', Object.keys(linux.sysctl).length > 0],
    ['linux.devices', linux.devices.length > 0],
    ['process.terminal', terminal],
  ] as const)
    if (given) notYet(`${what} without a mount namespace`, "it would be made in the host's /proc/sys or /dev");
  warnings.push(
    "config.json: linux.namespaces has no mount namespace: the container runs in the host's mounts and root directory; root, mounts, maskedPaths and readonlyPaths are not applied (as runc)",
  );
}

/** linux.resources.devices, read against minidock's own device cgroup (nothing of it is written). */
function checkDeviceRules(r: Fields, warnings: string[]): void {
  // Devices: every minidock container may use only the devices of its own /dev (device-bpf.ts
  // DEVICE_RULES). runc's default list, "deny everything" followed by nothing or by allows of those
  // same devices (containerd's and Docker's defaults), means the same. An allow rule beyond them
  // (containerd's c 5:1, /dev/console) gives the container less than asked: a warning.
  const granted = DEVICE_RULES.map(parseDeviceRule);
  (r.list('devices') ?? []).forEach((d, i) => {
    const f = r.item('devices', i, d, ['allow', 'type', 'major', 'minor', 'access']);
    if (f.bool('allow') === undefined) f.bad('allow', 'true or false');
    if (i === 0 && f.bool('allow') === false && !f.has('major') && !f.has('minor') && (f.str('type') ?? 'a') === 'a')
      return;
    if (f.bool('allow') === false) return; // a deny after the deny-all changes nothing
    if (i === 0)
      notYet(
        `linux.resources.devices[0] (an allow rule first: every device allowed)`,
        "the device cgroup allows only the devices of the container's own /dev",
      );
    const type = f.str('type') ?? 'a';
    const major = f.int('major', -1) ?? -1;
    const minor = f.int('minor', -1) ?? -1;
    const access = f.str('access') ?? 'rwm';
    if (!/^[rwm]+$/.test(access)) f.bad('access', 'some of r, w, m');
    const covered =
      type !== 'a' &&
      granted.some(
        (g) =>
          g.type === type &&
          (g.major === '*' || g.major === major) &&
          (g.minor === '*' || g.minor === minor) &&
          [...access].every((a) => g.access.includes(a)),
      );
    const rule = `${type} ${major < 0 ? '*' : major}:${minor < 0 ? '*' : minor} ${access}`;
    if (!covered)
      warnings.push(
        `config.json: linux.resources.devices[${i}] allows ${rule}, which minidock's device cgroup does not: the container may use only ${DEVICE_RULES.join(', ')}`,
      );
  });
}

/** linux.resources -> Limits (cgroup v1/v2 drivers); what the drivers cannot write is refused. */
function mapResources(warnings: string[], r: Fields | undefined): Limits {
  const limits: Limits = {};
  if (!r) return limits;
  const mem = r.obj('memory', [
    'limit',
    'reservation',
    'swap',
    'kernel',
    'kernelTCP',
    'swappiness',
    'disableOOMKiller',
    'useHierarchy',
    'checkBeforeUpdate',
  ]);
  if (mem) {
    const limit = mem.int('limit', -1);
    if (limit !== undefined && limit !== -1) limits.memory = limit;
    const res = mem.int('reservation', -1);
    if (res !== undefined && res !== -1) limits.memoryReservation = res;
    const swap = mem.int('swap', -1);
    if (swap !== undefined) limits.memorySwap = swap;
    // (Docker sends "disableOOMKiller": false, the kernel's default: only true asks for something)
    const oomKillerKept = mem.bool('disableOOMKiller') === false;
    for (const k of ['kernel', 'kernelTCP', 'swappiness', 'disableOOMKiller'])
      if (mem.has(k) && !(k === 'disableOOMKiller' && oomKillerKept))
        notYet(`linux.resources.memory.${k}`, 'the cgroup drivers do not write it');
  }
  const cpu = r.obj('cpu', [
    'shares',
    'quota',
    'burst',
    'period',
    'realtimeRuntime',
    'realtimePeriod',
    'cpus',
    'mems',
    'idle',
  ]);
  if (cpu) {
    const shares = cpu.int('shares', 0);
    if (shares) limits.cpuShares = shares;
    const quota = cpu.int('quota', -1);
    const period = cpu.int('period', 0);
    if (quota !== undefined && quota > 0) {
      limits.cpuQuotaUs = quota;
      limits.cpuPeriodUs = period || 100_000;
    } else if (period) limits.cpuPeriodUs = period;
    const cpus = cpu.str('cpus');
    if (cpus) limits.cpusetCpus = cpus;
    const mems = cpu.str('mems');
    if (mems) limits.cpusetMems = mems;
    for (const k of ['burst', 'realtimeRuntime', 'realtimePeriod', 'idle'])
      if (cpu.has(k) && cpu.raw(k) !== '') notYet(`linux.resources.cpu.${k}`, 'the cgroup drivers do not write it');
  }
  const pids = r.obj('pids', ['limit']);
  const plimit = pids?.int('limit', -1);
  if (plimit !== undefined && plimit !== 0) limits.pids = plimit;
  checkDeviceRules(r, warnings);
  for (const k of ['blockIO', 'hugepageLimits', 'network', 'rdma', 'unified']) {
    const v = r.raw(k);
    // (Docker sends "blockIO": {"weight": 0}: 0 is runc's "not set", like an empty list or object)
    const unset = (x: unknown): boolean =>
      x === undefined ||
      x === null ||
      x === 0 ||
      (Array.isArray(x) && x.length === 0) ||
      (isObj(x) && Object.values(x).every(unset));
    if (!unset(v)) notYet(`linux.resources.${k}`, 'the cgroup drivers do not write it');
  }
  return limits;
}

/** mounts: minidock's own standard mounts, and bind mounts; other filesystems are refused for now. */
function mapMounts(
  top: Fields,
  rootfs: string,
  bundle: string,
  bindFlags: OciExtras['bindFlags'],
  tmpfs: OciExtras['tmpfs'],
): BindMount[] {
  const out: BindMount[] = [];
  const isBind = (m: unknown): boolean =>
    isObj(m) &&
    (m.type === 'bind' || (Array.isArray(m.options) && (m.options.includes('bind') || m.options.includes('rbind'))));
  const binds = (top.list('mounts') ?? []).filter(isBind).length; // (a tmpfs with a bind after it goes before that bind)
  (top.list('mounts') ?? []).forEach((m, i) => {
    const f = top.item('mounts', i, m, ['destination', 'source', 'type', 'options', 'uidMappings', 'gidMappings']);
    const dest = f.str('destination');
    if (!dest?.startsWith('/')) {
      f.bad('destination', 'an absolute path inside the container');
      return;
    }
    const options = f.strings('options') ?? [];
    const type = f.str('type') ?? '';
    const bind = type === 'bind' || options.includes('bind') || options.includes('rbind');
    if (!bind) {
      const d = posix.normalize(dest);
      if (PLAN_MOUNTS[d] === type) return; // the plan's own mount (build-plan.ts step 4)
      // (config.json's order, which runtime-tools checks in mountinfo: before the bind that follows it)
      if (type === 'tmpfs') {
        tmpfs.push({
          ...mapTmpfs(rootfs, d, options, `mounts[${i}]`),
          ...(out.length < binds ? { beforeBind: out.length } : {}),
        });
        return;
      }
      notYet(
        `mounts[${i}] (${type || 'no type'} on ${dest})`,
        'besides bind mounts, only the standard /proc, /dev, /dev/pts, /dev/shm, /dev/mqueue, /sys and /sys/fs/cgroup mounts, which minidock makes itself',
      );
    }
    if (f.has('uidMappings') || f.has('gidMappings')) notYet(`mounts[${i}].uidMappings`, 'idmapped mounts');
    const src = f.str('source');
    if (!src) {
      f.bad('source', 'the host path to bind');
      return;
    }
    const source = resolve(bundle, src);
    // (a filesystem's own options — mode=, size= ... — are mount data, which the kernel ignores for a bind, as runc passes them)
    const unknownOpt = options.filter(
      (o) =>
        !['bind', 'rbind', 'ro', 'rw', 'nosuid', 'nodev', 'noexec', 'strictatime', 'noatime', 'relatime'].includes(o) &&
        !(o in PROPAGATION) &&
        !/^(mode|size|nr_inodes|nr_blocks|uid|gid)=[0-9a-zA-Z%]+$/.test(o),
    );
    if (unknownOpt.length > 0)
      notYet(
        `mounts[${i}].options ${unknownOpt.join(',')}`,
        'bind mounts take ro/rw, bind/rbind, nosuid/nodev/noexec, the atime options and propagation, for now',
      );
    if (source.includes(':') || dest.includes(':'))
      notYet(`mounts[${i}] with ":" in a path`, 'bind mounts go through the -v parser');
    // the same checks as -v (the target is resolved inside the rootfs: a symlink there cannot lead out)
    try {
      const mount = parseVolume(rootfs, `${source}:${dest}${options.includes('ro') ? ':ro' : ''}`);
      out.push(mount);
      // (Podman binds /dev/shm with nosuid,nodev,noexec: a bind mount takes them only through a remount, launch.ts)
      const flags = (['nosuid', 'nodev', 'noexec', 'strictatime', 'noatime'] as const).filter((o) =>
        options.includes(o),
      );
      const propagation = propagationOf(options);
      if (flags.length || propagation !== undefined) bindFlags.push({ mount, options: flags, propagation });
    } catch (e) {
      if (e instanceof MinidockError) fail(`config.json: mounts[${i}]: ${e.message}`);
      throw e;
    }
  });
  return out;
}

/** A tmpfs mount (containerd's /run): its flags and data, the target resolved inside the rootfs. */
function mapTmpfs(rootfs: string, dest: string, options: string[], where: string): OciExtras['tmpfs'][number] {
  const FLAGS: Record<string, number> = {
    ro: MS.MS_RDONLY,
    rw: 0,
    nosuid: MS.MS_NOSUID,
    nodev: MS.MS_NODEV,
    noexec: MS.MS_NOEXEC,
    strictatime: MS.MS_STRICTATIME,
    noatime: MS.MS_NOATIME,
    relatime: 0,
  };
  let flags = 0;
  const data: string[] = [];
  for (const o of options) {
    if (o in FLAGS) flags |= FLAGS[o]!;
    else if (o in PROPAGATION)
      continue; // propagationOf: a second mount call, launch.ts
    else if (/^(mode|size|nr_inodes|nr_blocks|uid|gid)=[0-9a-zA-Z%]+$/.test(o))
      data.push(o); // tmpfs's own options, passed as mount data
    else
      notYet(
        `${where}.options ${o} on a tmpfs`,
        'a tmpfs takes ro/rw, nosuid, nodev, noexec, strictatime/noatime/relatime and mode/size/nr_inodes/uid/gid, for now',
      );
  }
  // resolved inside the rootfs like a -v target: a symlink there cannot send the mount to a host path
  const r = dirView(rootfs).resolve(dest);
  if (r.inner === '/' || (r.kind !== 'dir' && r.kind !== 'missing'))
    notYet(
      `${where} (tmpfs on ${dest})`,
      'a tmpfs goes on a directory of the rootfs, or on a path that does not exist yet',
    );
  const propagation = propagationOf(options);
  return { destination: r.inner, flags, data: data.join(','), ...(propagation === undefined ? {} : { propagation }) };
}

/**
 * linux.seccomp (config-linux.md) is Docker's profile format minus Docker's includes/excludes,
 * plus listenerPath/listenerMetadata for a seccomp agent: the same validator reads it.
 */
export function ociSeccomp(json: unknown, debug: string[] = []): SeccompProfile {
  if (!isObj(json)) return fail(`config.json: linux.seccomp must be an object, got ${show(json)}`);
  ((json.syscalls as unknown[] | undefined) ?? []).forEach((s, i) => {
    if (isObj(s) && (s.includes !== undefined || s.excludes !== undefined))
      fail(
        `config.json: linux.seccomp.syscalls[${i}] has includes/excludes, which are Docker's, not the OCI format — remove them`,
      );
  });
  return validateProfile(asLibseccomp(json, debug), 'config.json linux.seccomp');
}

/**
 * An engine's profile read the way runc reads it through libseccomp, where minidock's own profile
 * checks are stricter. Podman 4.3's profile names `syscall` and `timerfd`, which libseccomp does not
 * resolve on x86_64 (runc skips such a name); and it lists `setns` unconditionally twice, allowed
 * in one rule and EPERM in a later one — libseccomp keeps the first unconditional rule of a syscall
 * ("existing filter is at least as large", db.c) where minidock's compiler refuses the conflict.
 * Both are dropped here, each with a line for --debug (runc logs them at debug level too).
 */
function asLibseccomp(json: Obj, debug: string[]): Obj {
  if (!Array.isArray(json.syscalls)) return json;
  const unconditional = new Map<string, unknown>();
  const syscalls = json.syscalls.flatMap((rule, i) => {
    if (!isObj(rule) || !Array.isArray(rule.names) || rule.names.some((n) => typeof n !== 'string')) return [rule]; // validateProfile names the fault
    const plain = !Array.isArray(rule.args) || rule.args.length === 0;
    const names = (rule.names as string[]).filter((name) => {
      if (syscallNumber(name) === undefined && !OTHER_ARCH_SYSCALLS.has(name) && /^[a-z_][a-z0-9_]*$/.test(name)) {
        debug.push(
          `config.json: linux.seccomp.syscalls[${i}]: unknown syscall "${name}" ignored (as runc: libseccomp does not know it on x86_64)`,
        );
        return false;
      }
      if (!plain) return true;
      const first = unconditional.get(name);
      if (first === undefined) {
        unconditional.set(name, rule.action);
        return true;
      }
      if (first !== rule.action)
        debug.push(
          `config.json: linux.seccomp.syscalls[${i}]: "${name}" already has an unconditional rule (${show(first)}); this one (${show(rule.action)}) ignored, as libseccomp does`,
        );
      return false;
    });
    if (names.length === 0 && rule.names.length > 0) return [];
    return [{ ...rule, names }];
  });
  return { ...json, syscalls };
}
