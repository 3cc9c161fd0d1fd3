// `minidock-oci features`: the runtime-spec 1.1 features document (features.md): what this build
// of minidock can do, whatever the host (runc's `features` is the same kind of list). Engines read
// it to decide what they may put in a config.json. Everything here follows what config.ts maps:
// a field config.ts refuses is not listed.
import { CAPS } from '../runtime/capabilities.js';
import { SECCOMP_ACTIONS, SECCOMP_FLAGS, SECCOMP_OPS } from '../runtime/seccomp/profile.js';
import { PLAN_NAMESPACES } from './config.js';
import { HOOK_POINTS } from './hooks.js';
import { OCI_VERSION } from './spec-default.js';

export function features(version: string): Record<string, unknown> {
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: OCI_VERSION,
    // every point: createContainer and startContainer inside the container (HOOK steps), the rest
    // from the runtime process (hooks.ts)
    hooks: [...HOOK_POINTS],
    // bind mounts only (config.ts mapMounts), besides the standard mounts minidock makes itself
    mountOptions: ['bind', 'rbind', 'ro', 'rw', 'private', 'rprivate'],
    linux: {
      // the plan's own namespaces, and a user namespace with config.json's maps (config.ts mapIdMappings)
      namespaces: [...PLAN_NAMESPACES, 'user'],
      capabilities: [...CAPS],
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false, rdma: false },
      seccomp: {
        enabled: true,
        actions: [...SECCOMP_ACTIONS],
        operators: [...SECCOMP_OPS],
        // the compiler emits x86_64 programs only (seccomp/compile.ts)
        archs: ['SCMP_ARCH_X86_64'],
        knownFlags: [...SECCOMP_FLAGS],
        supportedFlags: [],
      },
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: false } },
    },
    annotations: { 'org.minidock.version': version },
  };
}
