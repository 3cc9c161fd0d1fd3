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
}

export interface Rlimit {
  type: string; // "nofile"
  soft: number;
  hard: number;
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
  /** --restart (restart-policy.ts), carried out by the C monitor of a detached container; absent: no */
  restartPolicy?: RestartPolicy;
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
