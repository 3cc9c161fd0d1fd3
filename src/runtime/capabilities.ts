// Linux capabilities: names, numbers (<linux/capability.h>) and Docker's default set.
// Root in a container is not root on the host mostly because of what is missing here:
// no CAP_SYS_ADMIN (mount, namespaces), no CAP_SYS_MODULE, no CAP_SYS_PTRACE, no CAP_NET_ADMIN ...
import { fail } from '../errors.js';

export const CAPS = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
] as const;

export type CapName = (typeof CAPS)[number];

/** Docker's default capability set (moby oci/caps/defaults.go). */
export const DOCKER_DEFAULT_CAPS: CapName[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_RAW',
  'CAP_SYS_CHROOT',
  'CAP_MKNOD',
  'CAP_AUDIT_WRITE',
  'CAP_SETFCAP',
];

/** "net_raw", "NET_RAW" and "CAP_NET_RAW" all name CAP_NET_RAW (the spelling only: not checked against CAPS). */
export function normalizeCap(raw: string): string {
  const up = raw.trim().toUpperCase();
  return up.startsWith('CAP_') ? up : 'CAP_' + up;
}

/** A --cap-add/--cap-drop value as a capability name; an unknown one is one line naming the flag. */
export function capName(raw: string, flag = '--cap-add'): CapName {
  const name = normalizeCap(raw) as CapName;
  if (!CAPS.includes(name))
    fail(`${flag} ${raw}: unknown capability; names look like NET_RAW or CAP_NET_RAW (see capabilities(7))`);
  return name;
}

/** Docker's rules: start from the default set, drop --cap-drop (ALL empties it), then add --cap-add (ALL adds all). */
export function resolveCaps(add: string[], drop: string[], privileged: boolean): CapName[] {
  if (privileged) return [...CAPS];
  let set = new Set<CapName>(DOCKER_DEFAULT_CAPS);
  for (const d of drop) {
    if (d.toUpperCase() === 'ALL') set = new Set();
    else set.delete(capName(d, '--cap-drop'));
  }
  for (const a of add) {
    if (a.toUpperCase() === 'ALL') for (const c of CAPS) set.add(c);
    else set.add(capName(a, '--cap-add'));
  }
  return CAPS.filter((c) => set.has(c));
}

export function capMask(caps: readonly CapName[]): bigint {
  let m = 0n;
  for (const c of caps) m |= 1n << BigInt(CAPS.indexOf(c));
  return m;
}
