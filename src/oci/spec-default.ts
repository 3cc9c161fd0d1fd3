// The config.json that `minidock-oci spec` writes: runc spec's default, adjusted to what minidock's
// plan does, so that it maps without a warning (config.ts) and runs a busybox rootfs as it is
// (`cp -a rootfs bundle/rootfs`, or this checkout's ./rootfs).
import { DOCKER_DEFAULT_CAPS } from '../runtime/capabilities.js';
import { DEFAULT_MASKED_PATHS, DEFAULT_PATH, DEFAULT_READONLY_PATHS } from '../runtime/spec.js';

/** The runtime-spec version minidock's configs and state follow. */
export const OCI_VERSION = '1.1.0';

export function defaultConfig(): Record<string, unknown> {
  const caps = [...DOCKER_DEFAULT_CAPS];
  return {
    ociVersion: OCI_VERSION,
    process: {
      // as runc spec: an interactive shell (busybox's sh); `minidock-oci spec` users edit args
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: [`PATH=${DEFAULT_PATH}`, 'TERM=xterm'],
      cwd: '/',
      // Docker's default set (runc spec's is three capabilities); root gets the bounding set in effect
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'minidock',
    mounts: standardMounts(),
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      // every namespace minidock makes (build-plan.ts), the cgroup one included
      namespaces: ['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup'].map((type) => ({ type })),
      maskedPaths: [...DEFAULT_MASKED_PATHS],
      readonlyPaths: [...DEFAULT_READONLY_PATHS],
    },
  };
}

/** The mounts `runc spec` lists (fresh objects on every call): every OCI bundle minidock writes starts
 * with them — `minidock-oci spec` and the benchmark's runc/crun bundles (src/bench/peers/oci.ts). */
export function standardMounts(): Record<string, unknown>[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc' },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    {
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
    },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    {
      destination: '/sys/fs/cgroup',
      type: 'cgroup',
      source: 'cgroup',
      options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'],
    },
  ];
}
