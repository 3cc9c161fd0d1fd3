// --device, --sysctl, --init and --cgroupns: the run flags that hand the container a piece of the
// kernel — a device node, a namespaced kernel setting, a PID 1 that does PID 1's work, the host's
// cgroup paths. Parsed here, carried out by plan steps (build-plan.ts) and, for --device, the device
// cgroup (cgroups/v1.ts devices.allow, cgroups/v2.ts the eBPF filter). Loaded by options.ts only
// when one of them is given: a plain run does not pay for it.
import { existsSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import { fail } from '../errors.js';
import { packageRoot } from '../sys/native.js';
import type { DeviceMapping } from './spec.js';

export interface KernelFlags {
  device?: string[];
  sysctl?: string[];
  init?: boolean;
  cgroupns?: string;
}

/** What the spec gets of them. */
export interface KernelSpec {
  devices?: DeviceMapping[];
  sysctls?: Record<string, string>;
  init?: string;
  cgroupns?: 'host';
}

/** The namespaces these flags must not reach through: --network, --ipc as given. */
interface Context {
  network?: string;
  ipc?: string;
  /** a user namespace (--userns, --uidmap, rootless) */
  userns: boolean;
}

export function kernelFlags(f: KernelFlags, ctx: Context): KernelSpec {
  const out: KernelSpec = {};
  if (f.device?.length) {
    if (ctx.userns)
      fail(
        '--device with a user namespace (--userns, --uidmap or a rootless run): the kernel refuses mknod of a device there — drop one of them',
      );
    out.devices = f.device.map(parseDevice);
  }
  if (f.sysctl?.length) out.sysctls = parseSysctls(f.sysctl, ctx);
  if (f.init) out.init = initBinary();
  if (f.cgroupns !== undefined) {
    if (f.cgroupns !== 'host' && f.cgroupns !== 'private')
      fail(
        `--cgroupns ${f.cgroupns}: use private (a cgroup namespace of its own: /proc/self/cgroup shows "/") or host`,
      );
    if (f.cgroupns === 'host') out.cgroupns = 'host';
  }
  return out;
}

// ---- --device ----

/** major and minor of a dev_t, as glibc's gnu_dev_major/gnu_dev_minor split it. */
export function splitDev(rdev: bigint): { major: number; minor: number } {
  return {
    major: Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & 0xfffff000n)),
    minor: Number((rdev & 0xffn) | ((rdev >> 12n) & 0xffffff00n)),
  };
}

/** The minimal /dev's nodes, bound from the host by every launch (build-plan.ts DEVICES). */
const BOUND = ['null', 'zero', 'full', 'random', 'urandom', 'tty'].map((d) => `/dev/${d}`);

/** --device HOST[:CTR][:PERMS]: PERMS some of r, w, m (default rwm), CTR the host's path by default. */
export function parseDevice(raw: string): DeviceMapping {
  const what = `--device ${raw}`;
  const parts = raw.split(':');
  if (parts.length > 3 || !parts[0]) fail(`${what}: use HOST_PATH[:CONTAINER_PATH][:rwm]`);
  let [hostPath, path = parts[0], access = 'rwm'] = parts;
  // (two fields: the second is the permissions when it reads as such, as Docker's parseDevice has it)
  if (parts.length === 2 && /^[rwm]+$/.test(parts[1])) [path, access] = [parts[0], parts[1]];
  if (!/^[rwm]{1,3}$/.test(access) || new Set(access).size !== access.length)
    fail(`${what}: permissions "${access}": use some of r (read), w (write), m (mknod), e.g. rw`);
  if (!hostPath.startsWith('/')) fail(`${what}: the host path must be absolute, e.g. /dev/fuse`);
  if (!path.startsWith('/')) fail(`${what}: the container path must be absolute, e.g. /dev/mydevice`);
  path = posix.normalize(path);
  if (path === '/' || path === '/dev') fail(`${what}: ${path} cannot be a device node — give a path such as /dev/x`);
  let st;
  try {
    st = statSync(hostPath, { bigint: true });
  } catch {
    return fail(`${what}: ${hostPath} does not exist on the host`);
  }
  if (!st.isCharacterDevice() && !st.isBlockDevice())
    fail(
      `${what}: ${hostPath} is not a device node (ls -l shows c or b) — give one device (minidock takes no directories of them)`,
    );
  const { major, minor } = splitDev(st.rdev);
  const type = st.isCharacterDevice() ? 'c' : 'b';
  if (BOUND.includes(path) && path !== hostPath)
    fail(`${what}: ${path} is already in the container's /dev (the host's own, bound) — choose another path`);
  return {
    hostPath,
    path,
    type,
    major,
    minor,
    mode: Number(st.mode & 0o170777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
    access,
  };
}

/** The device cgroup rule of a --device (device-bpf.ts syntax): the container may use that node. */
export const deviceRule = (d: Pick<DeviceMapping, 'type' | 'major' | 'minor' | 'access'>): string =>
  `${d.type} ${d.major}:${d.minor} ${d.access}`;

// ---- --sysctl ----

/**
 * Docker's namespaced sysctls (moby opts.ValidateSysctl): those of the IPC namespace (System V
 * message queues, semaphores, shared memory, and POSIX message queues: fs.mqueue.*) and every net.*
 * one (the network namespace's). Each namespace has its own copy, so a container changes only its own.
 */
const IPC_SYSCTLS = new Set([
  'kernel.msgmax',
  'kernel.msgmnb',
  'kernel.msgmni',
  'kernel.sem',
  'kernel.shmall',
  'kernel.shmmax',
  'kernel.shmmni',
  'kernel.shm_rmid_forced',
]);

const isIpcSysctl = (k: string): boolean => IPC_SYSCTLS.has(k) || k.startsWith('fs.mqueue.');

/** --sysctl KEY=VALUE..., checked as Docker checks them, and against the namespaces they would land in. */
export function parseSysctls(list: string[], ctx: Context): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of list) {
    const what = `--sysctl ${raw}`;
    const eq = raw.indexOf('=');
    const key = eq < 0 ? raw : raw.slice(0, eq);
    const value = eq < 0 ? undefined : raw.slice(eq + 1);
    if (value === undefined || !key) fail(`${what}: use KEY=VALUE, e.g. --sysctl net.ipv4.ip_forward=1`);
    if (!/^[a-z0-9_]+(\.[A-Za-z0-9_-]+)+$/.test(key))
      fail(`${what}: "${key}" is not a sysctl name: dotted words, e.g. net.ipv4.ip_forward`);
    if (/[\n\0]/.test(value)) fail(`${what}: the value cannot hold a newline or a NUL`);
    if (key.startsWith('net.')) {
      const net = ctx.network;
      // (a bridge's eth0 is made before the sysctls are written, so its keys apply to it: not so
      // net.ipv4.conf.default.*, which only links made later take)
      if (/\.eth0(\.|$)/.test(key) && (net === undefined || net === 'none'))
        fail(`${what}: this container has no eth0 (--network ${net ?? 'none'}) — give it one with --network bridge`);
      if (net === 'host' || net?.startsWith('container:'))
        fail(
          `${what} with --network ${net}: that is ${net === 'host' ? "the host's" : "another container's"} network namespace, and this would change its ${key} — drop one of them`,
        );
    } else if (isIpcSysctl(key)) {
      const ipc = ctx.ipc;
      if (ipc === 'host' || ipc?.startsWith('container:'))
        fail(
          `${what} with --ipc ${ipc}: that is ${ipc === 'host' ? "the host's" : "another container's"} IPC namespace, and this would change its ${key} — drop one of them`,
        );
    } else
      fail(
        `${what}: ${key} is not namespaced — the kernel keeps one value for the host and every container, so a container may not change it (Docker refuses it too); namespaced: net.*, fs.mqueue.*, kernel.msgmax/msgmnb/msgmni, kernel.sem, kernel.shmall/shmmax/shmmni/shm_rmid_forced`,
      );
    out[key] = value;
  }
  return out;
}

// ---- --init ----

/** minidock-init (native/init.c), built by native/Makefile beside libminidock. */
function initBinary(): string {
  const bin = posix.join(packageRoot(), 'native', 'build', 'minidock-init');
  if (!existsSync(bin)) fail(`--init: ${bin} is missing — build it (npm run build, or make -C native), or drop --init`);
  return bin;
}
