// The processes of a running container (minidock top): every process in its cgroup, each with its
// pid as the host sees it and as the container sees it. The kernel lists both in /proc/PID/status:
// "NSpid: 4711 1" holds the pid in each PID namespace the process is in, the host's first and the
// innermost last. The container's own namespace is the one its first process is in, so its pid
// there is the entry at the depth of that process's last one (a process in a namespace it made
// below, deeper still, has more entries).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MinidockError } from '../../errors.js';
import { readOpt } from '../../sys/read.js';
import { displayName } from '../container-store/listing.js';
import type { Entry } from '../container-store/records.js';
import { cgroupOf, isRunning } from './common.js';

export interface TopRow {
  /** the effective user, named from the host's /etc/passwd as ps names it (a number when unnamed) */
  user: string;
  /** host pid, the container's pid for it (undefined once it is gone), the host's parent pid */
  pid: number;
  containerPid?: number;
  ppid: number;
  /** user + system CPU time, [[DD-]HH:]MM:SS as ps prints TIME */
  time: string;
  cmd: string;
}

/** The pids of the "NSpid:" line of /proc/PID/status, host first; [] when absent (kernel < 4.1). */
export function parseNSpid(status: string): number[] {
  const line = /^NSpid:\s*(.*)$/m.exec(status);
  return line ? line[1]!.trim().split(/\s+/).filter(Boolean).map(Number) : [];
}

/** The effective uid of the "Uid:" line (real, effective, saved, filesystem). */
export function parseEffectiveUid(status: string): number | undefined {
  const m = /^Uid:\s*\d+\s+(\d+)/m.exec(status);
  return m ? Number(m[1]) : undefined;
}

/** CPU time as ps's TIME column: HH:MM:SS (clock ticks at USER_HZ = 100). */
export function cpuTime(ticks: number): string {
  const s = Math.floor(ticks / 100);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(Math.floor(s / 3600))}:${two(Math.floor(s / 60) % 60)}:${two(s % 60)}`;
}

function userNames(): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of (readOpt('/etc/passwd') ?? '').split('\n')) {
    const f = line.split(':');
    if (f.length > 2 && /^\d+$/.test(f[2]!) && !names.has(Number(f[2]))) names.set(Number(f[2]), f[0]!);
  }
  return names;
}

function row(pid: number, depth: number, names: Map<number, string>): TopRow | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (the name may hold spaces)
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const uid = parseEffectiveUid(status);
    return {
      user: uid === undefined ? '?' : (names.get(uid) ?? String(uid)),
      pid,
      containerPid: parseNSpid(status)[depth],
      ppid: Number(f[1]),
      time: cpuTime(Number(f[11]) + Number(f[12])), // utime + stime (fields 14, 15)
      cmd: argv.length ? argv.join(' ') : `[${stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))}]`,
    };
  } catch {
    return undefined; // exited meanwhile
  }
}

/** Every process of the running container's cgroup, by host pid. */
export function topRows(e: Entry): TopRow[] {
  if (!isRunning(e))
    throw new MinidockError(`container ${displayName(e)} is not running (minidock ps -a shows its state)`, 1);
  const cg = cgroupOf(e);
  if (!cg)
    throw new MinidockError(
      `container ${displayName(e)} has no cgroup to list processes from (a rootless container without a delegated cgroup)`,
      1,
    );
  // (cgroup.procs lists thread-group ids, one per process; on v1 every hierarchy holds the same ones)
  const pids = (readOpt(join(cg.paths[0]!, 'cgroup.procs')) ?? '').split('\n').filter(Boolean).map(Number);
  const depth = parseNSpid(readOpt(`/proc/${e.state!.pid}/status`) ?? '').length - 1;
  const names = userNames();
  return pids
    .sort((a, b) => a - b)
    .map((p) => row(p, depth, names))
    .filter((r): r is TopRow => r !== undefined);
}
