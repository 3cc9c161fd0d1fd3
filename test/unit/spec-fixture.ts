// One ContainerSpec for the unit tests of the plan, exec and stdio: Docker's defaults (capabilities,
// masked and read-only paths), a dummy seccomp program, root, no limits; each test overrides what it checks.
import { DOCKER_DEFAULT_CAPS } from '../../src/runtime/capabilities';
import { type ContainerSpec, DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS } from '../../src/runtime/spec';

export function testSpec(over: Partial<ContainerSpec> = {}): ContainerSpec {
  return {
    id: 'f'.repeat(64),
    rootfs: '/r',
    args: ['sh'],
    env: ['PATH=/bin'],
    cwd: '/',
    hostname: 'h',
    uid: 0,
    gid: 0,
    additionalGids: [0],
    tty: false,
    interactive: false,
    readonlyRootfs: false,
    mounts: [],
    capabilities: DOCKER_DEFAULT_CAPS,
    noNewPrivileges: true,
    seccomp: new Uint8Array(8),
    privileged: false,
    maskedPaths: DEFAULT_MASKED_PATHS,
    readonlyPaths: DEFAULT_READONLY_PATHS,
    rlimits: [],
    limits: {},
    stopTimeoutSec: 10,
    ...over,
  };
}
