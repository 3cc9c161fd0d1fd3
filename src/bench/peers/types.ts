// What every runtime adapter offers the experiments. An adapter only *constructs* commands (pure,
// unit-tested); the experiments run them through proc.ts, so that every runtime is timed the same way.

/** The same limits for every runtime, mapped to each one's flags (or OCI linux.resources). */
export interface BenchLimits {
  memoryBytes?: number;
  /** memory plus swap, as Docker's --memory-swap (equal to memoryBytes: no swap) */
  memorySwapBytes?: number;
  /** CPUs, e.g. 0.5 = quota 50000 per 100000 µs period */
  cpus?: number;
  pids?: number;
}

export interface Workload {
  /** the command inside the container, e.g. ['echo', 'ok'] */
  cmd: string[];
  limits?: BenchLimits;
}

/** One command to run; `cleanup` (untimed) runs after it, e.g. to remove a bundle directory. */
export interface Launch {
  argv: string[];
  env?: NodeJS.ProcessEnv;
  /** detached launches whose container inherits the output pipe must not wait for it to close */
  stdout?: 'pipe' | 'ignore';
  cleanup?: () => void;
}

export interface Capabilities {
  run: boolean;
  detached: boolean;
  exec: boolean;
  limits: { memory: boolean; cpus: boolean; pids: boolean };
  /** why a capability is missing (e.g. "ctr run has no --pids-limit flag") */
  missing?: string[];
}

export interface Detection {
  peer: string;
  available: boolean;
  version?: string;
  /** why it is not available */
  reason?: string;
  /** the exact command that would make it available */
  fix?: string;
  /** host-specific workarounds the adapter applies, and other facts the report must say */
  notes: string[];
  /** the flags the adapter runs it with (recorded with the results) */
  flags: string[];
  caps: Capabilities;
}

export interface DaemonEndpoints {
  /** containerd's socket (for ctr), when reachable */
  containerd?: string;
  /** dockerd's socket (for docker -H), when reachable */
  docker?: string;
  /** daemons this bench run started itself (stopped by pid at the end) */
  started: Array<{ name: string; pid: number }>;
  /** links a daemon started here made and leaves behind (dockerd's docker0): removed after it stops */
  madeLinks?: string[];
}

/** Everything prepared once per benchmark run and shared by the adapters. */
export interface BenchContext {
  /** scratch directory of this run (bundles, state roots, tars); removed at the end */
  work: string;
  /** the bench copy of the busybox rootfs, with /bin/firstinsn added */
  rootfs: string;
  /** the same rootfs as a tar (for podman/docker import) */
  rootfsTar: string;
  /** an OCI image layout tar of the same rootfs (for ctr image import) */
  ociTar: string;
  /** image name used by podman/docker/ctr */
  image: string;
  daemons: DaemonEndpoints;
  /** the minidock state root used by the bench (MINIDOCK_ROOT) */
  minidockRoot: string;
  pin?: number;
  /** namespace for ctr, cgroup parent for runc/crun */
  tag: string;
  /** the engines' own cgroup parents (Docker's /docker, Podman's libpod_parent) that existed before
   * this run: the others are removed at its end, once empty */
  engineCgroupsBefore?: string[];
}

export interface EngineReport {
  exitCode?: number;
  oomKilled?: boolean;
  /** raw text the engine printed about the container (one line) */
  message?: string;
  memoryPeakBytes?: number;
  oomKills?: number;
  nrThrottled?: number;
  nrPeriods?: number;
}

export interface Peer {
  readonly name: string;
  /** 'baseline' (bare), 'runtime' (OCI runtime, no daemon), 'engine' (daemon/monitor based), 'minidock' */
  readonly kind: 'baseline' | 'runtime' | 'engine' | 'minidock';
  /** binary, version, daemon reachable; never throws */
  detect(ctx: BenchContext): Detection;
  /** once per bench run, untimed: import images, write wrapper scripts; throws with a reason on failure */
  prepare(ctx: BenchContext): void;
  /** a foreground run that removes the container when it exits (`--rm`) */
  run(ctx: BenchContext, id: string, w: Workload): Launch;
  /** a foreground run that keeps the container for report(); followed by remove() */
  runKeep?(ctx: BenchContext, id: string, w: Workload): Launch;
  /** what the engine says about a finished container (docker/podman inspect, minidock --stats) */
  report?(ctx: BenchContext, id: string, run: { stdout: string; stderr: string; code: number }): EngineReport;
  start?(ctx: BenchContext, id: string, w: Workload): Launch;
  exec?(ctx: BenchContext, id: string, cmd: string[]): Launch;
  /** remove (force) the given containers: one or more commands */
  remove?(ctx: BenchContext, ids: string[]): Launch[];
  /** host processes that monitor containers or serve the engine (for RSS/PSS), by comm name */
  monitorComms?: string[];
  /** once per bench run: remove images, wrapper scripts and anything else prepare() made */
  cleanup(ctx: BenchContext): void;
}

export const NO_CAPS: Capabilities = {
  run: false,
  detached: false,
  exec: false,
  limits: { memory: false, cpus: false, pids: false },
};
export const ALL_CAPS: Capabilities = {
  run: true,
  detached: true,
  exec: true,
  limits: { memory: true, cpus: true, pids: true },
};

export function unavailable(peer: string, reason: string, fix: string, notes: string[] = []): Detection {
  return { peer, available: false, reason, fix, notes, flags: [], caps: NO_CAPS };
}

/** Docker-style byte sizes for engine flags: 52428800 -> "50m" when exact, else bytes. */
export function bytesFlag(b: number): string {
  const MiB = 1024 * 1024;
  if (b % (1024 * MiB) === 0) return `${b / (1024 * MiB)}g`;
  if (b % MiB === 0) return `${b / MiB}m`;
  return String(b);
}
