// ContainerSpec: everything a launch needs, resolved and validated — a small subset of the OCI
// runtime spec (config.json). The CLI turns flags into a spec; buildPlan() turns a spec into steps.
import type { CapName } from './capabilities.js';
import type { Limits } from './limits.js';
import type { UserNamespace } from './id-maps.js';
import type { NetworkSpec } from './network/flags.js';
import type { RestartPolicy } from './restart-policy.js';

export interface BindMount {
  source: string; // absolute host path
  destination: string; // absolute path inside the container
  readonly: boolean;
  /** the source is a file (the mount point must be a file too) */
  isFile?: boolean;
  /** a named volume (-v NAME:/path, --mount type=volume): source is <root>/volumes/NAME/_data (volumes.ts) */
  volume?: string;
  /** -v NAME:/path:nocopy, --mount ...,volume-nocopy: an empty volume is not filled from the image (volumes.ts) */
  nocopy?: boolean;
}

/** --tmpfs PATH[:opts], --mount type=tmpfs: a tmpfs of the container's own (mount-flags.ts). */
export interface TmpfsMount {
  destination: string; // absolute path inside the container, resolved inside the rootfs
  /** mount(2) flags: MS_NOEXEC|MS_NOSUID|MS_NODEV by default (Docker's), changed by the options */
  flags: number;
  /** tmpfs's own options (size=, mode=, uid=, gid=, nr_inodes=, nr_blocks=), "" for none */
  data: string;
}

/** --device HOST[:CTR[:rwm]] (kernel-flags.ts): a node made in the container, allowed by its device cgroup. */
export interface DeviceMapping {
  hostPath: string;
  /** where the node is made, inside the container */
  path: string;
  type: 'c' | 'b';
  major: number;
  minor: number;
  /** the node's mode: S_IFCHR or S_IFBLK | the host node's permission bits */
  mode: number;
  uid: number;
  gid: number;
  /** the device cgroup rule's access: some of r, w, m */
  access: string;
}

export interface Rlimit {
  type: string; // "nofile"
  soft: number;
  hard: number;
}

/** The namespaces a container can join instead of making its own (build-plan.ts joinSteps). */
export type NamespaceType = 'network' | 'ipc' | 'uts' | 'pid' | 'mount';

/** A namespace joined with setns() instead of made by clone(): a namespace file, and whose it is. */
export interface NamespaceJoin {
  type: NamespaceType;
  /** /proc/PID/ns/X (or /proc/<minidock>/fd/N: minidock holds it open), or an OCI bundle's path */
  path: string;
  /** whose namespace it is, for the plan's reason: "container web (/proc/1234/ns/ipc)", "config.json" */
  from: string;
}

/**
 * --ipc, --pid, --uts as given (namespaces.ts; Docker's modes), kept in config.json: a container:NAME
 * is looked up again at each launch. Absent: a namespace of its own (ipc: shareable).
 */
export interface NamespaceModes {
  /** host | private | shareable | container:NAME */
  ipc?: string;
  /** host | container:NAME */
  pid?: string;
  /** host */
  uts?: string;
}

/**
 * --health-cmd and its timings, or the image's HEALTHCHECK (lifecycle/health.ts), resolved: Docker's
 * defaults filled in. Carried out by the monitor of a detached container.
 */
export interface HealthConfig {
  /** Docker's Test: ["CMD-SHELL", cmd] (run with /bin/sh -c) or ["CMD", arg...] */
  test: string[];
  intervalMs: number;
  timeoutMs: number;
  /** failures within it do not count while the container is still "starting" */
  startPeriodMs: number;
  /** the wait between probes during the start period */
  startIntervalMs: number;
  /** failures in a row that make it "unhealthy" */
  retries: number;
}

/** --log-driver, --log-opt (log-config.ts): Docker's HostConfig.LogConfig, and json-file's rotation parsed. */
export interface LogConfig {
  type: 'json-file' | 'none';
  /** the --log-opt pairs as given (inspect shows them) */
  config: Record<string, string>;
  /** max-size in bytes: the monitor rotates container.log before it would pass it */
  maxSize?: number;
  /** max-file: how many files at most, container.log included (1 without max-size) */
  maxFile?: number;
}

export interface ContainerSpec {
  id: string; // 64 hex characters
  name?: string;
  rootfs: string; // absolute host path of the read-only lower layer(s); the first is the top layer
  lowerDirs?: string[];
  args: string[];
  env: string[];
  cwd: string;
  hostname: string;
  uid: number;
  gid: number;
  additionalGids: number[];
  tty: boolean;
  /** the user's terminal size, set on the pty before exec */
  ttySize?: { rows: number; cols: number };
  interactive: boolean;
  readonlyRootfs: boolean;
  mounts: BindMount[];
  capabilities: CapName[];
  noNewPrivileges: boolean;
  /** compiled seccomp program (struct sock_filter[]) or undefined for unconfined */
  seccomp?: Uint8Array;
  seccompProfileName?: string;
  privileged: boolean;
  maskedPaths: string[];
  readonlyPaths: string[];
  rlimits: Rlimit[];
  limits: Limits;
  cgroupParent?: string;
  stopTimeoutSec: number;
  /** a user namespace with these maps (--userns auto, --uidmap/--gidmap); absent: the host's ids */
  userns?: UserNamespace;
  /** --network, -p, --ip (network/wiring.ts); absent: none, a network namespace with only lo */
  network?: NetworkSpec;
  /** --log-driver, --log-opt (log-config.ts): the detached container's log; absent: json-file, no rotation */
  logConfig?: LogConfig;
  /** --restart (restart-policy.ts), carried out by the C monitor of a detached container; absent: no */
  restartPolicy?: RestartPolicy;
  /** --ipc, --pid, --uts (namespaces.ts); absent: new IPC (shareable), PID and UTS namespaces */
  namespaces?: NamespaceModes;
  /** --shm-size: the size of /dev/shm's tmpfs in bytes; absent: 64 MiB (Docker's default) */
  shmSize?: number;
  /** --label, --label-file: Docker's Config.Labels (ps --filter label=, inspect); absent: none */
  labels?: Record<string, string>;
  /** --stop-signal: what `stop` sends first (a signal number); absent: SIGTERM */
  stopSignal?: number;
  /** --oom-score-adj: written to /proc/self/oom_score_adj by the child before exec; absent: inherited */
  oomScoreAdj?: number;
  /** --tmpfs, --mount type=tmpfs (mount-flags.ts); absent: none */
  tmpfs?: TmpfsMount[];
  /** --device (kernel-flags.ts); absent: only the minimal /dev */
  devices?: DeviceMapping[];
  /** --sysctl: namespaced sysctls written by the child under /proc/sys (kernel-flags.ts); absent: none */
  sysctls?: Record<string, string>;
  /** --init: the host path of minidock-init, bind-mounted at /dev/init and run as PID 1; absent: none */
  init?: string;
  /** --health-cmd, --health-*, or the image's HEALTHCHECK (lifecycle/health.ts); absent: none */
  healthcheck?: HealthConfig;
  /** --cgroupns host: no cgroup namespace (/proc/self/cgroup shows the host's paths); absent: private */
  cgroupns?: 'host';
  /** namespaces joined, resolved for one launch (not kept in config.json): run's container:NAME
   * (namespaces.ts resolveJoins), an OCI bundle's linux.namespaces paths */
  joinNamespaces?: NamespaceJoin[];
  /** /dev/shm bound from here instead of a tmpfs of its own, resolved for one launch: --ipc host
   * (the host's /dev/shm: `path` in our mount namespace), --ipc container:NAME (its /dev/shm, a path
   * in its mount namespace, `mountNamespace`: /proc/PID/ns/mnt or the same held open by minidock) */
  shmFrom?: { path: string; mountNamespace?: string };
}

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

// Docker's masked and read-only paths (moby oci/defaults.go): masked ones get /dev/null (files) or
// an empty read-only tmpfs (directories) mounted over them; read-only ones are bind-remounted ro.
export const DEFAULT_MASKED_PATHS = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];
export const DEFAULT_READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];
