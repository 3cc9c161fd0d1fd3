// What `minidock version` and `minidock info` report: this client, and the machine's kernel,
// cgroups, storage, containers and images as minidock sees them. Read only; nothing is changed.
import { cpus, totalmem } from 'node:os';
import { readOpt } from '../../sys/read.js';
import { detectCgroups } from '../cgroups/detect.js';
import { listImages } from '../../image/store.js';
import { listEntries } from '../container-store/listing.js';
import { isPaused } from './pause.js';
import { isRunning } from './common.js';

/** "v1 (hybrid: a cgroup2 tree is mounted too)", "v2", or why there are no cgroups. */
export function cgroupModeText(): string {
  try {
    const d = detectCgroups();
    return d.mode === 'v1' && d.mounts.v2 ? 'v1 (hybrid: a cgroup2 tree is mounted too)' : d.mode;
  } catch (e) {
    return `none (${(e as Error).message})`;
  }
}

const kernelRelease = (): string => readOpt('/proc/sys/kernel/osrelease')?.trim() ?? 'unknown';

/** `client`: the CLI's version (commander's program.version(), the one `--version` prints). */
export function versionInfo(client: string): Record<string, string> {
  return {
    Version: client,
    NodeVersion: process.version,
    OsArch: `${process.platform}/${process.arch}`,
    Kernel: kernelRelease(),
    CgroupMode: cgroupModeText(),
  };
}

/** seccomp filter mode (the kernel lists its actions), and whether user namespaces can be made. */
export function securityOptions(): string[] {
  const out: string[] = [];
  if (/^Seccomp:/m.test(readOpt('/proc/self/status') ?? '')) out.push("seccomp (profile: Docker's default)");
  const maxUserns = Number(readOpt('/proc/sys/user/max_user_namespaces')?.trim() ?? '0');
  out.push(
    maxUserns > 0
      ? `userns (available: max_user_namespaces ${maxUserns})`
      : 'userns (unavailable: max_user_namespaces is 0 or absent)',
  );
  return out;
}

export function systemInfo(root: string): Record<string, unknown> {
  const entries = listEntries(root);
  const running = entries.filter((e) => isRunning(e));
  const paused = running.filter((e) => isPaused(e)).length;
  return {
    Containers: entries.length,
    ContainersRunning: running.length - paused,
    ContainersPaused: paused,
    ContainersStopped: entries.length - running.length,
    Images: listImages(root).length,
    StorageDriver: 'overlay', // each container's root: overlayfs, the rootfs or image layers read-only below its upper layer
    CgroupDriver: 'cgroupfs', // minidock writes the cgroup files itself (no systemd)
    CgroupMode: cgroupModeText(),
    KernelVersion: kernelRelease(),
    OperatingSystem: /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readOpt('/etc/os-release') ?? '')?.[1] ?? 'unknown',
    Architecture: process.arch,
    CPUs: cpus().length,
    MemTotal: totalmem(),
    StateRoot: root,
    SecurityOptions: securityOptions(),
  };
}
