// A process named for good: its pid plus its start time. A pid alone is recycled by the kernel; the
// start time (field 22 of /proc/PID/stat, clock ticks since boot) of the process that has it then
// differs. The state store records its keepers this way, the image store the owners of its scratch
// directories, so that whoever finds them can tell at once whether their owner is gone.
import { readFileSync } from 'node:fs';

/** Field 22 of /proc/PID/stat (start time, clock ticks since boot); undefined when gone or a zombie. */
export function procStart(pid: number | 'self'): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // the name may hold spaces and ')'
  if (rest[0] === 'Z' || rest[0] === 'X') return undefined;
  return Number(rest[19]); // rest[0] is field 3
}

/** Is this exact process (pid + start time) still alive? */
export function isProcess(pid: number | undefined, start: number | undefined): boolean {
  if (!pid || pid <= 0) return false;
  const s = procStart(pid);
  return s !== undefined && (start === undefined || s === start);
}

/** "<pid>-<start>": this process, as names of scratch files and directories carry it. */
export function ownerTag(): string {
  return `${process.pid}-${procStart('self')}`;
}

/** The owner named by a "<prefix>-<pid>-<start>-..." file name: gone (true), alive (false), or
 * undefined when the name carries none (made by an older minidock). */
export function ownerGone(name: string): boolean | undefined {
  const m = /^[a-z-]*?-(\d+)-(\d+)-/.exec(name);
  return m ? !isProcess(Number(m[1]), Number(m[2])) : undefined;
}
