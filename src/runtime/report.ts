// What minidock says after a container exits: the OOM truth and --stats.
import { openSync, readSync, closeSync } from 'node:fs';
import type { LaunchOutcome } from './launch.js';
import type { ContainerSpec } from './spec.js';

const mib = (b?: number): string => (b === undefined ? '?' : `${(b / 1048576).toFixed(1)} MiB`);

/**
 * The kernel's own account of OOM kills in THIS container's memory cgroup, from /dev/kmsg:
 *   oom-kill:constraint=CONSTRAINT_MEMCG,...,oom_memcg=/…/minidock-<id>,task_memcg=…,task=tail,pid=123,uid=0
 * The kernel log is shared by every container on the host, so lines are matched by cgroup name.
 */
export function oomVictims(cgroupName: string): Array<{ task: string; pid: number }> {
  const out: Array<{ task: string; pid: number }> = [];
  let fd = -1;
  try {
    fd = openSync('/dev/kmsg', 'r', 0o4000 /* O_NONBLOCK: stop at the end instead of waiting */);
    const buf = Buffer.alloc(8192);
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EPIPE') continue; // a record was overwritten: skip it
        break; // EAGAIN: end of the log
      }
      if (n <= 0) break;
      const line = buf.toString('utf8', 0, n);
      const m = /oom-kill:.*oom_memcg=([^,]*),.*task=([^,]*),pid=(\d+)/.exec(line);
      if (m && m[1].endsWith('/' + cgroupName)) out.push({ task: m[2], pid: Number(m[3]) });
    }
  } catch {
    /* no /dev/kmsg (not root, or a restricted host): the cgroup counter still tells the truth */
  } finally {
    if (fd >= 0) closeSync(fd);
  }
  return out;
}

/** Docker says OOMKilled=true when only a side process died; Podman says false when init died. Say what happened. */
export function oomMessage(o: LaunchOutcome, spec: ContainerSpec): string | undefined {
  const kills = o.stats?.oomKills ?? 0;
  if (!kills) return undefined;
  const limit = o.stats?.memoryLimitBytes ?? spec.limits.memory;
  const peak = o.stats?.memoryPeakBytes;
  if (o.oomKilled) return `container killed: out of memory (limit ${mib(limit)}, peak ${mib(peak)})`;
  const victims = o.cgroup ? oomVictims(o.cgroup.name) : [];
  const who = victims.length ? victims.map((v) => `"${v.task}" (pid ${v.pid} on the host)`).join(', ') : `${kills} process(es)`;
  return `out of memory inside the container: the kernel killed ${who} (limit ${mib(limit)}, peak ${mib(peak)}); ` +
    `the container's own process was not OOM-killed and exited with ${o.exitCode}`;
}

export function formatStats(o: LaunchOutcome, json: boolean): string {
  const s = o.stats ?? {};
  const data = {
    exitCode: o.exitCode,
    oomKilled: o.oomKilled,
    memoryPeakBytes: s.memoryPeakBytes,
    memoryLimitBytes: s.memoryLimitBytes,
    oomKills: s.oomKills ?? 0,
    cpuUserUs: s.cpuUserUs,
    cpuSystemUs: s.cpuSystemUs,
    cpuUsageUs: s.cpuUsageUs,
    nrPeriods: s.nrPeriods,
    nrThrottled: s.nrThrottled,
    throttledUs: s.throttledUs,
    pidsPeak: s.pidsPeak,
    pidsLimit: s.pidsLimit,
    pidsLimitHits: s.pidsLimitHits,
  };
  if (json) return JSON.stringify(data);
  const ms = (us?: number): string => (us === undefined ? '?' : `${(us / 1000).toFixed(1)} ms`);
  const rows: Array<[string, string]> = [
    ['memory peak', `${mib(s.memoryPeakBytes)}${s.memoryLimitBytes ? ` of ${mib(s.memoryLimitBytes)} limit` : ''}`],
    ['OOM kills', String(s.oomKills ?? 0)],
    ['CPU user / sys', `${ms(s.cpuUserUs)} / ${ms(s.cpuSystemUs)}`],
    ['CPU throttled', `${s.nrThrottled ?? 0} of ${s.nrPeriods ?? 0} periods, ${ms(s.throttledUs)}`],
    ['pids peak', `${s.pidsPeak ?? '?'}${s.pidsLimit ? ` (limit ${s.pidsLimit}, hit ${s.pidsLimitHits ?? 0} times)` : ''}`],
  ];
  return ['minidock stats:', ...rows.map(([k, v]) => `  ${k.padEnd(16)} ${v}`)].join('\n');
}
