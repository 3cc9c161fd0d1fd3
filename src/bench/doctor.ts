// `minidock doctor`: can this machine run minidock (and its benchmark)? Every check says what it
// found and, when something is missing, the command that fixes it.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectCgroups } from '../runtime/cgroups/index.js';
import { median } from './stats.js';
import { BENCHEXEC, FIRSTINSN, MINIDOCK_BIN, MINIDOCK_BUNDLE, PKG_ROOT, sh, timed, which } from './proc.js';
import { findDaemons } from './daemons.js';
import { ALL_PEERS, makePeer } from './peers/index.js';
import type { BenchContext } from './peers/types.js';

export type Status = 'ok' | 'warn' | 'fail';

export interface Check {
  area: string;
  status: Status;
  found: string;
  fix?: string;
}

const read = (p: string): string | undefined => {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
};

/** "6.18.44-fc" -> [6, 18] */
export function kernelVersion(release: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

export function checkKernel(release = read('/proc/sys/kernel/osrelease')?.trim() ?? 'unknown'): Check {
  const [maj, min] = kernelVersion(release);
  // 4.18: unprivileged overlayfs in user namespaces came in 5.11, pidfd in 5.3; 4.18 is the floor we
  // know works for the plain root path (runc's floor too)
  const ok = maj > 4 || (maj === 4 && min >= 18);
  return { area: 'kernel', status: ok ? 'ok' : 'fail', found: `Linux ${release}`, fix: ok ? undefined : 'a kernel ≥ 4.18 (namespaces, overlayfs and cgroup features minidock uses)' };
}

export function checkCgroups(): Check[] {
  try {
    const d = detectCgroups();
    const out: Check[] = [{ area: 'cgroup mode', status: 'ok', found: `${d.mode}${d.mode === 'v1' && d.mounts.v2 ? ' (hybrid)' : ''}: ${d.reason}` }];
    let controllers: string[];
    if (d.mode === 'v1') controllers = d.mounts.v1.flatMap((h) => h.controllers);
    else controllers = (read(join(d.mounts.v2!.mountPoint, 'cgroup.controllers')) ?? '').trim().split(/\s+/).filter(Boolean);
    const need = d.mode === 'v1' ? ['memory', 'cpu', 'cpuacct', 'pids'] : ['memory', 'cpu', 'pids'];
    const missing = need.filter((c) => !controllers.includes(c));
    out.push({
      area: 'cgroup controllers', status: missing.length ? 'fail' : 'ok', found: controllers.sort().join(' ') || '(none)',
      fix: missing.length ? (d.mode === 'v2' ? `enable them for minidock's parent: echo "+${missing.join(' +')}" > ${d.mounts.v2!.mountPoint}/cgroup.subtree_control` : `mount the missing hierarchies: ${missing.map((c) => `mount -t cgroup -o ${c} cgroup /sys/fs/cgroup/${c}`).join('; ')}`) : undefined,
    });
    return out;
  } catch (e) {
    return [{ area: 'cgroup mode', status: 'fail', found: (e as Error).message, fix: 'mount -t cgroup2 none /sys/fs/cgroup' }];
  }
}

export function checkOverlay(filesystems = read('/proc/filesystems') ?? ''): Check {
  const ok = /\boverlay$/m.test(filesystems);
  return { area: 'overlayfs', status: ok ? 'ok' : 'fail', found: ok ? 'overlay in /proc/filesystems' : 'overlay not in /proc/filesystems', fix: ok ? undefined : 'modprobe overlay' };
}

export function checkUserns(): Check {
  const max = Number(read('/proc/sys/user/max_user_namespaces')?.trim() ?? 'NaN');
  const unpriv = read('/proc/sys/kernel/unprivileged_userns_clone')?.trim();
  if (!Number.isFinite(max)) return { area: 'user namespaces', status: 'warn', found: 'no /proc/sys/user/max_user_namespaces', fix: 'a kernel with CONFIG_USER_NS=y' };
  if (max === 0) return { area: 'user namespaces', status: 'warn', found: 'max_user_namespaces = 0 (disabled)', fix: 'sysctl -w user.max_user_namespaces=15000' };
  return { area: 'user namespaces', status: 'ok', found: `max_user_namespaces = ${max}${unpriv !== undefined ? `, unprivileged_userns_clone = ${unpriv}` : ''}` };
}

export function checkSeccomp(status = read('/proc/self/status') ?? ''): Check {
  const line = /^Seccomp:\s*(\d+)/m.exec(status);
  const actions = read('/proc/sys/kernel/seccomp/actions_avail')?.trim();
  if (!line) return { area: 'seccomp', status: 'fail', found: 'no Seccomp: line in /proc/self/status', fix: 'a kernel with CONFIG_SECCOMP_FILTER=y' };
  return { area: 'seccomp', status: actions ? 'ok' : 'warn', found: actions ? `filter mode available; actions: ${actions}` : 'seccomp present, actions_avail unknown' };
}

export function checkRootfs(): Check {
  const bb = join(PKG_ROOT, 'rootfs', 'bin', 'busybox');
  if (!existsSync(bb)) return { area: 'busybox rootfs', status: 'fail', found: `${bb} missing`, fix: `cd ${PKG_ROOT} && npm run build   (apt-get install busybox-static)` };
  const r = which('readelf') ? sh(['readelf', '-l', bb]) : undefined;
  const dynamic = r ? /program interpreter/.test(r.stdout) : false;
  return { area: 'busybox rootfs', status: dynamic ? 'fail' : 'ok', found: `${join(PKG_ROOT, 'rootfs')}${dynamic ? ': busybox is dynamically linked' : ' (static busybox)'}`, fix: dynamic ? 'apt-get install busybox-static && rm -rf rootfs && npm run build' : undefined };
}

export function checkNative(): Check {
  const lib = join(PKG_ROOT, 'native', 'build', 'libminidock.so');
  const missing = [lib, FIRSTINSN, BENCHEXEC].filter((p) => !existsSync(p));
  return {
    area: 'native build', status: missing.length ? 'fail' : 'ok',
    found: missing.length ? `missing: ${missing.map((p) => p.slice(PKG_ROOT.length + 1)).join(', ')}` : 'libminidock.so, probes (firstinsn, benchexec)',
    fix: missing.length ? `make -C ${join(PKG_ROOT, 'native')}   (needs gcc, make, libc6-dev)` : undefined,
  };
}

export function checkNode(reps = 5): Check[] {
  const major = Number(process.versions.node.split('.')[0]);
  const out: Check[] = [{ area: 'node', status: major >= 20 ? 'ok' : 'fail', found: process.version, fix: major >= 20 ? undefined : 'Node ≥ 20 (https://nodejs.org or apt-get install nodejs from NodeSource)' }];
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const nodeMs = median(Array.from({ length: reps }, () => timed([process.execPath, '-e', '0'], { env }).ms));
  const cliMs = existsSync(MINIDOCK_BUNDLE) ? median(Array.from({ length: reps }, () => timed([MINIDOCK_BIN, '--version']).ms)) : undefined;
  const extra = process.env.NODE_EXTRA_CA_CERTS;
  out.push({
    area: 'node start-up', status: nodeMs > 100 || cliMs === undefined ? 'warn' : 'ok',
    found: `node -e 0: ${nodeMs.toFixed(1)} ms; minidock --version: ${cliMs === undefined ? 'not built' : `${cliMs.toFixed(1)} ms`} (median of ${reps})${extra ? '; NODE_EXTRA_CA_CERTS is set (bin/minidock.js drops it: it would cost ~50 ms per start)' : ''}`,
    fix: cliMs === undefined ? `cd ${PKG_ROOT} && npm run build` : undefined,
  });
  return out;
}

export function checkPeers(): Check[] {
  const ctx = { work: '/tmp/minidock-doctor', rootfs: join(PKG_ROOT, 'rootfs'), daemons: findDaemons(), tag: 'doctor', minidockRoot: '/tmp/minidock-doctor' } as unknown as BenchContext;
  return ALL_PEERS.filter((n) => n !== 'bare').map((n) => {
    const d = makePeer(n).detect(ctx);
    return {
      area: `peer: ${n}`, status: d.available ? 'ok' : 'warn' as Status,
      found: d.available ? `${d.version}${d.notes.length && n === 'crun' ? ` — ${d.notes[0]}` : ''}` : d.reason ?? 'not available',
      fix: d.available ? undefined : d.fix,
    };
  });
}

export function runChecks(): Check[] {
  const root = process.getuid?.() === 0;
  return [
    checkKernel(),
    { area: 'root', status: root ? 'ok' : 'warn', found: root ? 'running as root' : `uid ${process.getuid?.()}`, fix: root ? undefined : 'sudo minidock ... (namespaces, mounts and cgroups need root here)' },
    ...checkCgroups(), checkOverlay(), checkUserns(), checkSeccomp(), checkRootfs(), checkNative(), ...checkNode(), ...checkPeers(),
  ];
}

export function renderChecks(checks: Check[], color: boolean): string {
  const mark: Record<Status, string> = { ok: color ? '\x1b[32m✔\x1b[0m' : '✔', warn: color ? '\x1b[33m!\x1b[0m' : '!', fail: color ? '\x1b[31m✘\x1b[0m' : '✘' };
  const w = Math.max(...checks.map((c) => c.area.length));
  const lines = checks.flatMap((c) => [`${mark[c.status]} ${c.area.padEnd(w)}  ${c.found}`, ...(c.fix ? [`  ${''.padEnd(w)}  fix: ${c.fix}`] : [])]);
  const fails = checks.filter((c) => c.status === 'fail').length;
  const warns = checks.filter((c) => c.status === 'warn').length;
  lines.push('', fails ? `${fails} problem(s) stop minidock from running here; ${warns} warning(s).` : `minidock can run here${warns ? ` (${warns} warning(s): optional features or peers)` : ''}.`);
  return lines.join('\n') + '\n';
}

export async function doctorCommand(f: { json?: boolean }): Promise<number> {
  const checks = runChecks();
  if (f.json) process.stdout.write(JSON.stringify(checks, null, 1) + '\n');
  else process.stdout.write(renderChecks(checks, !!process.stdout.isTTY));
  return checks.some((c) => c.status === 'fail') ? 1 : 0;
}
