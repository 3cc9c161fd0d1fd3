// Types shared by the cgroup v1 and v2 drivers (kept apart from index.ts to avoid import cycles).

export type CgroupMode = 'v1' | 'v2';

/** One write to a cgroup file: absolute path and the value written (for --trace and `minidock cgroup`). */
export interface CgroupWrite {
  file: string;
  value: string;
}

export interface CgroupStats {
  memoryPeakBytes?: number; // v1 memory.max_usage_in_bytes; v2 memory.peak (kernel >= 5.19)
  memoryLimitBytes?: number; // v1 memory.limit_in_bytes; v2 memory.max (undefined when "max")
  memoryUsageBytes?: number; // v1 memory.usage_in_bytes; v2 memory.current
  oomKills?: number; // v1: memory.oom_control "oom_kill N"; v2: memory.events oom_kill
  oomEvents?: number; // v1: oom_kill + under_oom (v1 has no OOM-invocation counter); v2: memory.events oom
  memoryLimitHits?: number; // v1: memory.failcnt; v2: memory.events max (times usage hit the limit)
  cpuUserUs?: number; // v1: cpuacct.stat user (USER_HZ ticks -> us); v2: cpu.stat user_usec
  cpuSystemUs?: number; // v1: cpuacct.stat system; v2: cpu.stat system_usec
  cpuUsageUs?: number; // v1: cpuacct.usage (ns -> us); v2: cpu.stat usage_usec
  nrPeriods?: number; // cpu.stat nr_periods
  nrThrottled?: number; // cpu.stat nr_throttled
  throttledUs?: number; // v1: cpu.stat throttled_time (ns -> us); v2: throttled_usec
  pidsCurrent?: number; // pids.current
  pidsPeak?: number; // pids.peak where the kernel has it
  pidsLimit?: number; // pids.max (undefined when "max")
  pidsLimitHits?: number; // pids.events "max N"
}

/**
 * One filesystem the container mounts under /sys/fs/cgroup, read-only, as Docker and runc do. It is
 * mounted inside the container's cgroup namespace, where a cgroup filesystem's root is the
 * namespace's root: the container's own cgroup, never the host's tree.
 */
export interface CgroupfsMount {
  /** the directory under /sys/fs/cgroup ('' for cgroup v2: /sys/fs/cgroup itself) */
  dir: string;
  fstype: 'cgroup' | 'cgroup2';
  /** v1: the hierarchy's controllers exactly as bound on the host ("cpu,cpuacct"), or the kernel answers EBUSY */
  data: string;
  /** v1 co-mounted controllers get a symlink each, as on the host: cpu -> cpu,cpuacct */
  links: string[];
}

export interface Cgroup {
  readonly mode: CgroupMode;
  readonly name: string;
  /** every directory created (v1: one per hierarchy) */
  readonly paths: string[];
  /** what the container mounts at /sys/fs/cgroup: the hierarchies it has a cgroup of its own in */
  readonly fsMounts: CgroupfsMount[];
  /** every limit/setup file written, in order (joins to cgroup.procs are not listed) */
  readonly writes: CgroupWrite[];
  /** put pid into every hierarchy (write cgroup.procs); the container's first process joins BEFORE exec */
  join(pid: number): void;
  /** the container's directory in the cgroup2 tree (its cgroup.procs, limit files, device program); undefined on v1 */
  readonly v2Dir?: string;
  stats(): CgroupStats;
  /** only the number of OOM kills (one file; what every launch reads at the exit), undefined if unknown */
  oomKills(): number | undefined;
  /**
   * Kill remaining processes (cgroup.kill on v2 if present, else SIGKILL each pid from cgroup.procs),
   * then rmdir every directory, retrying EBUSY for up to ~1 s; never throws for ENOENT; idempotent.
   */
  destroy(): void;
}

/**
 * The two operations where cgroupfs differs from an ordinary filesystem. The kernel fills a new
 * directory with its interface files on mkdir, and rmdir removes a directory that still lists them.
 * Tests replace these to drive the drivers against a fake tree in a temp directory.
 */
export interface CgroupFsOps {
  mkdir(dir: string): void;
  rmdir(dir: string): void;
  /** cgroup v2: attach an eBPF device filter (struct bpf_insn[]) to dir; 0 or -errno */
  attachDeviceFilter?(dir: string, program: Uint8Array): number;
  /** write values to an existing file, one write() each (default: writeFileStrict, the real file) */
  write?(file: string, values: readonly string[], hint?: (code: string) => string | undefined): void;
}

export interface CgroupOptions {
  /**
   * --cgroup-parent: a path inside each hierarchy, "minidock" and "/minidock" meaning the same
   * (relative to the hierarchy's mount). Missing directories are created and left in place.
   * Default: the caller's own cgroup from /proc/self/cgroup (v2: see docs/cgroups.md).
   */
  parent?: string;
  /**
   * Allow only the minimal /dev's devices (DEVICE_RULES in device-bpf.ts): cgroup v1 through a
   * devices cgroup, cgroup v2 through an eBPF BPF_PROG_TYPE_CGROUP_DEVICE program. Off for --privileged.
   */
  restrictDevices?: boolean;
  /** more devices the container may use (run --device), as `TYPE MAJOR:MINOR ACCESS` rules after DEVICE_RULES */
  deviceRules?: readonly string[];
  /**
   * --dry-run: make every decision a launch makes — which directories, which files, which values, in
   * which order — and create and write nothing. The returned Cgroup's `writes` and `paths` are the
   * ones a launch would make (the same code decides both); it cannot be joined or destroyed.
   */
  dryRun?: boolean;
  /** for tests: alternative /proc/self/mountinfo and /proc/self/cgroup text, and fs operations */
  root?: { mountinfo?: string; selfCgroup?: string; ops?: CgroupFsOps };
}

/** One mounted v1 hierarchy. */
export interface V1Hierarchy {
  /** controllers bound to it, e.g. ['cpu'] or ['cpu', 'cpuacct']; empty for named ones */
  controllers: string[];
  /** "name=systemd" style name, if any */
  name?: string;
  mountPoint: string;
  /** the mount's root inside the hierarchy (field 4 of mountinfo; "/" unless bind-mounted) */
  mountRoot: string;
  /** the caller's cgroup in this hierarchy, from /proc/self/cgroup (relative to the hierarchy root) */
  ownPath?: string;
}

export interface V2Mount {
  mountPoint: string;
  mountRoot: string;
  /** from the "0::" line of /proc/self/cgroup */
  ownPath?: string;
}

export interface CgroupMounts {
  v1: V1Hierarchy[];
  v2?: V2Mount;
}

export interface CgroupDetection {
  mode: CgroupMode;
  mounts: CgroupMounts;
  /** one sentence saying why this mode was chosen (for `minidock cgroup` and the lessons) */
  reason: string;
}
