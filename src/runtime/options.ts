// From `minidock run` flags to a ContainerSpec (specFromFlags). Every bad input becomes one clear
// line and exit 125 here, before anything is created on the host. The flags that parse on their own
// are flag-parsers.ts, those that look into the rootfs rootfs-view.ts, what minidock itself holds
// caller-limits.ts.
import { readFileSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import { fail } from '../errors.js';
import { sidePath } from '../sys/code-cache.js';
import { CAPS, resolveCaps } from './capabilities.js';
import { callerHardLimit, callerPermittedCaps, limitToHeld } from './caller-limits.js';
import {
  parseEnvEntry,
  parseEnvFile,
  parseLabels,
  parseOomScoreAdj,
  parseSecurityOpts,
  parseStopSignal,
  parseUlimit,
  type SecurityChoice,
} from './flag-parsers.js';
import { parseLimits, type Limits } from './limits.js';
import { dirView, parseUser, parseVolume, type ImageView, type RootView } from './rootfs-view.js';
import { DEFAULT_MASKED_PATHS, DEFAULT_PATH, DEFAULT_READONLY_PATHS, type ContainerSpec } from './spec.js';
import type { UsernsFlags } from './userns.js';
// (--health-cmd, --health-*, --no-healthcheck: lifecycle/health.ts; a type only, the module loads lazily)
import type { HealthFlags } from './lifecycle/health.js';

export interface RunFlags extends UsernsFlags, HealthFlags {
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
  /** --restart no|on-failure[:N]|always|unless-stopped (restart-policy.ts) */
  restart?: string;
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
  oomKillDisable?: boolean;
  memorySwappiness?: string;
  blkioWeight?: string;
  // --label, --label-file, --stop-signal, --oom-score-adj, --group-add (flag-parsers.ts; groups: the rootfs's)
  label?: string[];
  labelFile?: string[];
  stopSignal?: string;
  oomScoreAdj?: string;
  groupAdd?: string[];
  /** --log-driver json-file|none, --log-opt max-size=/max-file= (log-config.ts) */
  logDriver?: string;
  logOpt?: string[];
  /** --cidfile: the command writes the ID there (src/cli/run.ts, create.ts) */
  cidfile?: string;
  // networking (network/wiring.ts)
  network?: string;
  publish?: string[];
  ip?: string;
  networkAlias?: string[];
  addHost?: string[];
  dns?: string[];
  /** -P, --expose, --mac-address (network/flags.ts; -P's host ports: network/ports.ts) */
  publishAll?: boolean;
  expose?: string[];
  macAddress?: string;
  // shared namespaces (namespaces.ts)
  ipc?: string;
  pid?: string;
  uts?: string;
  shmSize?: string;
  // --tmpfs, --mount, -v NAME:/path (mount-flags.ts; named volumes live in the state root, --root)
  tmpfs?: string[];
  mount?: string[];
  root?: string;
  // --device, --sysctl, --init, --cgroupns (kernel-flags.ts)
  device?: string[];
  sysctl?: string[];
  init?: boolean;
  cgroupns?: string;
}

const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** Compiles the chosen seccomp profile for the final capability set (run.ts supplies it). */
type SeccompFor = (choice: SecurityChoice['seccomp'], caps: string[]) => { program?: Uint8Array; name?: string };

/** --hostname (or the short id): what a UTS namespace's name may be. */
function checkedHostname(hostname: string): string {
  if (!HOSTNAME.test(hostname) || hostname.length > 64)
    fail(`--hostname ${hostname}: use letters, digits, "-" and ".", at most 64 characters`);
  return hostname;
}

/** --stop-timeout, in seconds (10 when not given). */
function stopTimeoutOf(flag: string | undefined): number {
  const sec = flag === undefined ? 10 : Number(flag);
  if (!Number.isFinite(sec) || sec < 0) fail(`--stop-timeout ${flag}: use a number of seconds ≥ 0`);
  return sec;
}

/** Build the spec; `seccompFor` compiles the chosen profile for the final capability set. */
export async function specFromFlags(
  id: string,
  rootfsArg: string,
  args: string[],
  f: RunFlags,
  seccompFor: SeccompFor,
  image?: ImageView & { exposedPorts?: string[]; healthcheck?: unknown },
): Promise<ContainerSpec> {
  // Checked in this order, so the first bad flag is the one reported.
  const rootfs = checkRootfs(rootfsArg, image);
  checkCommand(args, f.workdir);
  const view = image ?? dirView(rootfs);

  // --ipc, --pid, --uts, --shm-size (namespaces.ts, imported only when one is given); --uts host: the host's name
  const inUserns = !!((f.userns && f.userns !== 'host') || f.uidmap?.length || f.gidmap?.length || f.rootless);
  const ns =
    f.ipc !== undefined || f.pid !== undefined || f.uts !== undefined || f.shmSize !== undefined
      ? (await import('./namespaces.js')).namespaceFlags(f, inUserns)
      : {};
  const hostname = ns.hostname ?? checkedHostname(f.hostname ?? id.slice(0, 12));
  const cwd = f.workdir ?? '/';
  if (!cwd.startsWith('/')) fail(`-w ${cwd}: the working directory must be an absolute path`);

  const given = f.user ? parseUser(view, f.user) : { uid: 0, gid: 0, home: '/root', groups: [0] };
  const user = f.groupAdd?.length ? { ...given, groups: groupAdd(view, f.groupAdd, given.groups) } : given;
  const env = environment(f, image, hostname, user.home);
  // -v HOST:CTR here; -v NAME:CTR, --mount and --tmpfs in mount-flags.ts (loaded only for them)
  const storage = f.tmpfs?.length || f.mount?.length || f.volume?.some((v) => !v.startsWith('/'));
  const { mounts, tmpfs } = storage
    ? (await import('./mount-flags.js')).storageFlags(view, f)
    : { mounts: (f.volume ?? []).map((v) => parseVolume(view, v)), tmpfs: [] };
  const kernel =
    f.device?.length || f.sysctl?.length || f.init || f.cgroupns !== undefined
      ? (await import('./kernel-flags.js')).kernelFlags(f, { network: f.network, ipc: f.ipc, userns: inUserns })
      : {};
  const security = securityFromFlags(f, seccompFor);
  // --userns, --uidmap, --gidmap (userns.ts) and --network, -p, --ip, ... (network/flags.ts): their code
  // is imported only when one of them is given (or rootless): a plain run's start-up does not pay for it
  const userns =
    f.userns !== undefined || f.uidmap?.length || f.gidmap?.length || f.rootless
      ? (await import('./userns.js')).usernsFromFlags(f, user)
      : undefined;
  // (`--network none` alone is the default spelled out: as cheap as no flag, which the bench passes)
  const network =
    (f.network !== undefined && f.network !== 'none') ||
    f.publish?.length ||
    f.ip !== undefined ||
    nameFlags(f) ||
    bridgeFlags(f)
      ? await networkFromFlags(f, image?.exposedPorts)
      : undefined;
  const stopTimeoutSec = stopTimeoutOf(f.stopTimeout);
  const recorded = recordedFlags(f, userns);
  // --health-cmd and its timings, or the image's HEALTHCHECK: lifecycle/health.ts, loaded only then
  const healthcheck =
    image?.healthcheck !== undefined || f.healthcheck === false || healthFlagNames.some((k) => f[k] !== undefined)
      ? (await import('./lifecycle/health.js')).healthFromFlags(f, image?.healthcheck)
      : undefined;
  const monitor = await monitorFlags(f);

  return {
    id,
    name: f.name,
    rootfs,
    ...(image ? { lowerDirs: image.lowerDirs } : {}),
    args,
    env,
    cwd,
    hostname,
    uid: user.uid,
    gid: user.gid,
    additionalGids: user.groups,
    tty: !!f.tty,
    ttySize: f.tty && process.stdout.isTTY ? { rows: process.stdout.rows, cols: process.stdout.columns } : undefined,
    interactive: !!f.interactive,
    readonlyRootfs: !!f.readOnly,
    mounts,
    ...security,
    rlimits: (f.ulimit ?? []).map((u) => parseUlimit(u, callerHardLimit)),
    limits: limitsFromFlags(f),
    cgroupParent: f.cgroupParent ?? (process.env.MINIDOCK_CGROUP_PARENT || undefined),
    stopTimeoutSec,
    ...(userns ? { userns } : {}),
    ...(network ? { network } : {}),
    ...monitor,
    ...(healthcheck ? { healthcheck } : {}),
    ...(ns.namespaces ? { namespaces: ns.namespaces } : {}),
    ...(ns.shmSize === undefined ? {} : { shmSize: ns.shmSize }),
    ...recorded,
    ...(tmpfs.length ? { tmpfs } : {}),
    ...kernel,
  };
}

/**
 * What a detached container's monitor carries out: --restart (restart-policy.ts; with --rm it is
 * Docker's conflict) and --log-driver/--log-opt (log-config.ts), each parsed only when given.
 */
async function monitorFlags(f: RunFlags): Promise<Pick<ContainerSpec, 'restartPolicy' | 'logConfig'>> {
  const out: Pick<ContainerSpec, 'restartPolicy' | 'logConfig'> = {};
  if (f.restart !== undefined) {
    const rp = await import('./restart-policy.js');
    const policy = rp.parseRestartPolicy(f.restart);
    rp.checkRestartWithRm(policy, f.rm);
    if (policy.name !== 'no') out.restartPolicy = policy;
  }
  if (f.logDriver !== undefined || f.logOpt?.length)
    out.logConfig = (await import('./log-config.js')).logConfigFromFlags(f.logDriver, f.logOpt ?? []);
  return out;
}

/**
 * --group-add GROUP|GID: supplementary groups besides the user's, a name looked up in the
 * container's /etc/group (Docker's), a number taken as it is.
 */
function groupAdd(view: RootView, list: string[], groups: number[]): number[] {
  const out = new Set(groups);
  let table: string[][] | undefined;
  for (const g of list) {
    if (/^\d+$/.test(g)) {
      if (Number(g) > 0xfffffffe) fail(`--group-add ${g}: group ids must be below 4294967295`);
      out.add(Number(g));
      continue;
    }
    table ??= (view.readFile('etc/group', `--group-add ${g}`) ?? '').split('\n').map((l) => l.split(':'));
    const e = g ? table.find((fields) => fields[0] === g && /^\d+$/.test(fields[2] ?? '')) : undefined;
    if (!e)
      fail(
        `--group-add ${g}: no group "${g}" in the container's /etc/group — use a numeric GID or a name listed there`,
      );
    out.add(Number(e[2]));
  }
  return [...out];
}

/** --label/--label-file, --stop-signal, --oom-score-adj: the spec's fields, only those given. */
function recordedFlags(
  f: RunFlags,
  userns: ContainerSpec['userns'],
): Pick<ContainerSpec, 'labels' | 'stopSignal' | 'oomScoreAdj'> {
  const labels = parseLabels(f.label ?? [], f.labelFile ?? []);
  const stopSignal = f.stopSignal === undefined ? undefined : parseStopSignal(f.stopSignal);
  const oomScoreAdj = f.oomScoreAdj === undefined ? undefined : parseOomScoreAdj(f.oomScoreAdj);
  if (userns) checkInUserns(f, userns, oomScoreAdj);
  if (oomScoreAdj !== undefined) checkOomLowering(oomScoreAdj);
  return {
    ...(labels ? { labels } : {}),
    ...(stopSignal === undefined ? {} : { stopSignal }),
    ...(oomScoreAdj === undefined ? {} : { oomScoreAdj }),
  };
}

/**
 * --oom-score-adj below minidock's own score: the kernel allows it only with CAP_SYS_RESOURCE (below
 * the process's oom_score_adj_min, which is at most its score), and root does not always hold that
 * one (this project's machines withhold it): refused here, before anything is made, rather than by
 * the child's write (EACCES).
 */
function checkOomLowering(v: number): void {
  let own = 0;
  try {
    own = Number(readFileSync('/proc/self/oom_score_adj', 'utf8').trim()) || 0;
  } catch {
    return; // no /proc: the child's write decides
  }
  if (v >= own || (callerPermittedCaps() >> BigInt(CAPS.indexOf('CAP_SYS_RESOURCE'))) & 1n) return;
  fail(
    `--oom-score-adj ${v}: going below minidock's own score (${own}) needs CAP_SYS_RESOURCE, which minidock does not hold here (CapPrm in /proc/self/status) — use ${own} or more, or run minidock where it holds it`,
  );
}

/**
 * What a user namespace cannot do of these flags: lower oom_score_adj (the kernel wants
 * CAP_SYS_RESOURCE in the host's user namespace for that; root inside has it only over its own),
 * or set groups where the namespace denies setgroups() (a rootless map of one uid).
 */
function checkInUserns(f: RunFlags, userns: NonNullable<ContainerSpec['userns']>, oomScoreAdj?: number): void {
  if (oomScoreAdj !== undefined && oomScoreAdj < 0)
    fail(
      `--oom-score-adj ${oomScoreAdj} with a user namespace: lowering it needs CAP_SYS_RESOURCE on the host, which root inside a user namespace does not have — use a value of 0 or more`,
    );
  if (f.volume?.some((v) => !v.startsWith('/')) || f.mount?.some((m) => /(^|,)type=volume(,|$)/.test(m)))
    fail(
      "a named volume with a user namespace: its directory belongs to the host's root, which root inside the namespace is not — use -v HOST_DIR:PATH with a directory the mapped root owns, or drop the user namespace",
    );
  if (f.groupAdd?.length && userns.setgroups === 'deny')
    fail(
      '--group-add: this user namespace denies setgroups() (a map of your own uid alone), so no supplementary group can be set — drop the flag, or use an /etc/subgid range (newgidmap)',
    );
}

const healthFlagNames = [
  'healthCmd',
  'healthInterval',
  'healthTimeout',
  'healthRetries',
  'healthStartPeriod',
  'healthStartInterval',
] as const;

/** -P, --expose or --mac-address given (network/flags.ts parses them). */
const bridgeFlags = (f: RunFlags): boolean => !!(f.publishAll || f.expose?.length || f.macAddress !== undefined);

/** The network flags as a NetworkSpec (network/flags.ts), -P's ports picked (network/ports.ts). */
async function networkFromFlags(f: RunFlags, imageExposed?: string[]): Promise<ContainerSpec['network']> {
  const { parseNetworkFlags, exposedKeys } = await import('./network/flags.js');
  const names = { alias: f.networkAlias, addHost: f.addHost, dns: f.dns };
  const more = {
    publishAll: f.publishAll,
    expose: f.expose,
    macAddress: f.macAddress,
    imageExposed: exposedKeys(imageExposed ?? []),
  };
  const spec = parseNetworkFlags(f.network, f.publish, f.ip, names, more);
  // (only a bridge launch runs most of dist/more/network.cjs: see src/sys/code-cache.ts)
  if (spec?.mode !== 'bridge') sidePath('network');
  if (spec?.publishAll) spec.ports.push(...(await (await import('./network/ports.js')).publishAllPorts(spec)));
  return spec;
}

/** --network-alias, --add-host or --dns given (network/flags.ts parses them). */
const nameFlags = (f: RunFlags): boolean => !!(f.networkAlias?.length || f.addHost?.length || f.dns?.length);

/** The directory the root filesystem comes from: an image's top layer, or ROOTFS, which must be a directory. */
function checkRootfs(rootfsArg: string, image: ImageView | undefined): string {
  // An image (src/image/run-image.ts): its layers are the lower dirs, top first. Otherwise ROOTFS is
  // the one lower dir.
  const rootfs = image ? image.lowerDirs[0] : posix.resolve(rootfsArg);
  let st;
  try {
    st = statSync(rootfs);
  } catch {
    return fail(
      `rootfs ${rootfsArg}: no such directory — pass a directory holding a root filesystem (\`npm run build\` makes ./rootfs)`,
    );
  }
  if (!st.isDirectory()) fail(`rootfs ${rootfsArg}: not a directory — pass a directory holding a root filesystem`);
  if (!image && /[,:]/.test(rootfs))
    fail(`rootfs ${rootfs}: overlayfs cannot take a lower directory whose path contains "," or ":" — move or link it`);
  return rootfs;
}

/** A command is given, and neither it nor the working directory holds a NUL. */
function checkCommand(args: string[], workdir: string | undefined): void {
  if (!args.length || !args[0]) fail('no command given: use minidock run [OPTIONS] ROOTFS CMD [ARG...]');
  // (from an image's config: a command line cannot hold a NUL, execve() would cut the string there)
  for (const a of [...args, workdir ?? ''])
    if (a.includes('\0'))
      fail(
        `image config: ${JSON.stringify(a)} (its command or WorkingDir) contains a NUL byte, which no argument or path can hold — fix the image`,
      );
}

/**
 * The environment, a later entry replacing an earlier one of the same name: PATH, HOSTNAME and HOME,
 * the image's config's ENV, TERM with -t, --env-file, then -e.
 */
function environment(f: RunFlags, image: ImageView | undefined, hostname: string, home: string): string[] {
  const env = new Map<string, string>();
  const put = (e: string): void => void env.set(e.slice(0, e.indexOf('=')), e);
  put(`PATH=${DEFAULT_PATH}`);
  put(`HOSTNAME=${hostname}`);
  put(`HOME=${home}`);
  for (const e of image?.env ?? []) {
    if (e.includes('\0'))
      fail(
        `image config Env ${JSON.stringify(e)}: contains a NUL byte, which no environment variable can hold — fix the image`,
      );
    if (e.includes('=')) put(e); // the image's ENV (Docker: -e wins)
  }
  if (f.tty) put('TERM=xterm');
  for (const file of f.envFile ?? []) parseEnvFile(file).forEach(put);
  for (const raw of f.env ?? []) {
    const e = parseEnvEntry(raw, '-e');
    if (e) put(e);
  }
  return [...env.values()];
}

/** --privileged, --cap-add/--cap-drop and --security-opt: the capabilities kept, the seccomp filter compiled for them. */
function securityFromFlags(
  f: RunFlags,
  seccompFor: SeccompFor,
): Pick<
  ContainerSpec,
  'capabilities' | 'noNewPrivileges' | 'seccomp' | 'seccompProfileName' | 'privileged' | 'maskedPaths' | 'readonlyPaths'
> {
  const sec = parseSecurityOpts(f.securityOpt ?? []);
  const privileged = !!f.privileged;
  const capabilities = limitToHeld(resolveCaps(f.capAdd ?? [], f.capDrop ?? [], privileged), privileged);
  const seccomp = privileged ? {} : seccompFor(sec.seccomp, capabilities);
  return {
    capabilities,
    noNewPrivileges: privileged ? false : sec.noNewPrivileges,
    seccomp: seccomp.program,
    seccompProfileName: seccomp.name,
    privileged,
    maskedPaths: privileged ? [] : DEFAULT_MASKED_PATHS,
    readonlyPaths: privileged ? [] : DEFAULT_READONLY_PATHS,
  };
}

/** -m, --cpus and the other resource flags, checked by parseLimits (limits.ts). */
function limitsFromFlags(f: RunFlags): Limits {
  return parseLimits({
    memory: f.memory,
    memorySwap: f.memorySwap,
    memoryReservation: f.memoryReservation,
    cpus: f.cpus,
    cpu: f.cpu,
    cpuShares: f.cpuShares,
    cpuWeight: f.cpuWeight,
    cpusetCpus: f.cpusetCpus,
    pidsLimit: f.pidsLimit,
    pids: f.pids,
    oomKillDisable: f.oomKillDisable ? 'true' : undefined,
    memorySwappiness: f.memorySwappiness,
    blkioWeight: f.blkioWeight,
  });
}
