// An OCI runtime bundle (config.json + a rootfs path) for runc and crun: the same container minidock
// makes, written the way `runc spec` does, with the benchmark's limits in linux.resources.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { standardMounts } from '../../oci/spec-default.js';
import type { BenchLimits } from './types.js';

export interface OciOptions {
  rootfs: string;
  cmd: string[];
  limits?: BenchLimits;
  /** absolute cgroup path, e.g. /minidock-bench-123/ID (under every v1 hierarchy) */
  cgroupsPath: string;
  hostname?: string;
}

/** OCI linux.resources for the benchmark's limits. memory.swap is memory plus swap, as Docker's --memory-swap. */
export function ociResources(l: BenchLimits = {}): Record<string, unknown> {
  const r: Record<string, unknown> = { devices: [{ allow: false, access: 'rwm' }] };
  if (l.memoryBytes !== undefined)
    r.memory = { limit: l.memoryBytes, ...(l.memorySwapBytes !== undefined ? { swap: l.memorySwapBytes } : {}) };
  if (l.cpus !== undefined) r.cpu = { quota: Math.round(l.cpus * 100_000), period: 100_000 };
  if (l.pids !== undefined) r.pids = { limit: l.pids };
  return r;
}

/**
 * config.json. ociVersion 1.0.2: Debian's crun 1.8.1 rejects newer versions. Capabilities, masked
 * paths and mounts are `runc spec`'s defaults; no seccomp profile (runc spec has none).
 */
export function ociConfig(o: OciOptions): Record<string, unknown> {
  const caps = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: o.cmd,
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps, ambient: caps },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: o.rootfs, readonly: false },
    hostname: o.hostname ?? 'bench',
    mounts: [
      ...standardMounts(),
      // a private /tmp, as every engine gives: the workloads write there, and the rootfs is shared
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777'] },
    ],
    linux: {
      cgroupsPath: o.cgroupsPath,
      resources: ociResources(o.limits),
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      maskedPaths: [
        '/proc/acpi',
        '/proc/asound',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/sys/firmware',
        '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

export function writeBundle(dir: string, config: Record<string, unknown>): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 1));
}
