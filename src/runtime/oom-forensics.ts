// OOM forensics: after a container exits, which of its processes the OOM killer took, and the line
// that says so.
//
// Two sources, and why both:
//   - the memory cgroup's own counter (v1 memory.oom_control "oom_kill N", v2 memory.events
//     "oom_kill N") says HOW MANY processes of this container the OOM killer took. It is exact and
//     belongs to this container only, but it does not say WHICH processes.
//   - the kernel log (/dev/kmsg) names each victim: "oom-kill:...,task_memcg=/…/minidock-<id>,
//     task=tail,pid=123,...". The log is shared by every container on the host, so a line counts only
//     when its task_memcg is THIS container's cgroup.
// Docker reports OOMKilled=true when only a side process died; Podman reports false when the
// container's init died (see docs/peers.md). minidock says which process died.
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { mdOomKilled } from '../sys/native.js';
import type { CgroupStats } from './cgroups/types.js';
import type { ContainerSpec } from './spec.js';

/** "52.4 MiB", or "?" when unknown */
export const mib = (b?: number): string => (b === undefined ? '?' : `${(b / 1048576).toFixed(1)} MiB`);

export interface OomVictim {
  task: string; // the victim's comm (the kernel's 15-character command name)
  pid: number; // its pid in the host's pid namespace (the kernel logs global pids)
  memcg: string; // task_memcg: the victim's memory cgroup, relative to the hierarchy root
  limitMemcg: string; // oom_memcg: the cgroup whose limit was hit
}

/** Parse one kernel log message; undefined unless it is an oom-kill report. */
export function parseOomKill(message: string): OomVictim | undefined {
  // oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/a/b,task_memcg=/a/b,task=tail,pid=123,uid=0
  const i = message.indexOf('oom-kill:');
  if (i < 0) return undefined;
  const fields = new Map<string, string>();
  for (const kv of message
    .slice(i + 9)
    .trim()
    .split(',')) {
    const eq = kv.indexOf('=');
    if (eq > 0) fields.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  const pid = Number(fields.get('pid'));
  if (!fields.has('task') || !Number.isInteger(pid)) return undefined;
  return {
    task: fields.get('task')!,
    pid,
    memcg: fields.get('task_memcg') ?? '',
    limitMemcg: fields.get('oom_memcg') ?? '',
  };
}

/** Whether a memcg path (as the kernel logs it) is the cgroup named `name` or inside it. */
function inCgroup(memcg: string, name: string): boolean {
  return memcg.endsWith('/' + name) || memcg.includes('/' + name + '/');
}

/** One /dev/kmsg record: "prio,seq,usec,flags[,...];message" -> timestamp (us since boot) and text. */
export function parseKmsgRecord(rec: string): { usec: number; message: string } {
  const semi = rec.indexOf(';');
  const head = semi < 0 ? [] : rec.slice(0, semi).split(',');
  return { usec: Number(head[2] ?? NaN), message: (semi < 0 ? rec : rec.slice(semi + 1)).split('\n')[0]! };
}

export interface VictimQuery {
  /** the container's init as a host pid: its "Killed process PID" line counts even without an oom-kill line */
  initPid?: number;
  /** ignore records older than this (us since boot, the kernel log's clock): a pid can be reused */
  sinceUs?: number;
}

/**
 * The kernel's own account of OOM kills of THIS container's processes, from /dev/kmsg. Each read()
 * of /dev/kmsg returns one record; opened O_NONBLOCK, a read at the end of the log fails with EAGAIN
 * instead of waiting for the next message (without O_NONBLOCK it blocks forever, like a pipe).
 *
 * Two kinds of lines: "oom-kill:...,task_memcg=...,task=tail,pid=123" names the cgroup, but the kernel
 * RATE-LIMITS it (with the rest of the OOM report: 10 per 5 s, host-wide); "Memory cgroup out of
 * memory: Killed process 123 (tail) ..." is always printed, but does not name the cgroup. So a victim
 * is ours when its oom-kill line names our cgroup, or when its "Killed process" pid is our init's
 * (a pid is unique while its process lives, and the init lived from before sinceUs until now).
 */
export function oomVictims(cgroupName: string, q: VictimQuery = {}, kmsg = '/dev/kmsg'): OomVictim[] {
  const out: OomVictim[] = [];
  let fd = -1;
  try {
    fd = openSync(kmsg, constants.O_RDONLY | constants.O_NONBLOCK);
    const buf = Buffer.alloc(8192); // a record is at most ~1 KiB of text
    for (let records = 0; records < 1_000_000; records++) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EPIPE') continue; // the record was overwritten: skip it
        break; // EAGAIN: the end of the log
      }
      if (n <= 0) break;
      const { usec, message } = parseKmsgRecord(buf.toString('utf8', 0, n));
      if (q.sinceUs !== undefined && usec < q.sinceUs) continue;
      const v = parseOomKill(message);
      if (v) {
        if (inCgroup(v.memcg, cgroupName) && !out.some((o) => o.pid === v.pid)) out.push(v);
        continue;
      }
      const k = /Killed process (\d+) \(([^)]*)\)/.exec(message);
      if (k && q.initPid !== undefined && Number(k[1]) === q.initPid && !out.some((o) => o.pid === q.initPid)) {
        out.push({ task: k[2]!, pid: q.initPid, memcg: '', limitMemcg: '' });
      }
    }
  } catch {
    /* no /dev/kmsg (not root, or dmesg_restrict in a container): the cgroup's counter still tells how many */
  } finally {
    if (fd >= 0) closeSync(fd);
  }
  return out;
}

/** What oomTruth needs from a launch's outcome (launch.ts's LaunchOutcome has all of it). */
export interface ExitFacts {
  exitCode: number;
  signal?: number;
  /** the container's first process, as a host pid */
  pid?: number;
  stats?: Pick<CgroupStats, 'oomKills' | 'memoryLimitBytes' | 'memoryPeakBytes'>;
  cgroup?: { name: string };
}

export interface OomTruth {
  /** the container's first process (its init) was OOM-killed */
  initKilled: boolean;
  kills: number;
  victims: OomVictim[];
  message?: string;
}

/** This process's start on the kernel log's clock (us since boot; both are CLOCK_MONOTONIC-like). */
function processStartUs(): number {
  return Number(process.hrtime.bigint() / 1000n) - Math.round(process.uptime() * 1e6); // as trace.ts: no perf_hooks
}

/**
 * What happened, and the line that says it. Whether the init was OOM-killed is decided in one place,
 * native/oom.c (md_oom_killed), which the detached container's monitor calls too; the victims found
 * here only name who died.
 */
export function oomTruth(
  o: ExitFacts,
  spec: ContainerSpec,
  victimsOf: typeof oomVictims = oomVictims,
  verdict: typeof mdOomKilled = mdOomKilled,
): OomTruth {
  const kills = o.stats?.oomKills ?? 0;
  if (!kills) return { initKilled: false, kills: 0, victims: [] };
  const sinceUs = processStartUs();
  const victims = o.cgroup ? victimsOf(o.cgroup.name, { initPid: o.pid, sinceUs }) : [];
  const initKilled = verdict(o.pid ?? 0, o.signal ?? 0, kills, sinceUs) === 1;

  const limit = o.stats?.memoryLimitBytes ?? spec.limits.memory;
  const peak = o.stats?.memoryPeakBytes;
  const numbers = `limit ${mib(limit)}, peak ${mib(peak)}`;
  const named = (vs: OomVictim[]): string => vs.map((v) => `"${v.task}" (host pid ${v.pid})`).join(', ');
  let message: string;
  if (initKilled) {
    message = `container killed: out of memory (${numbers})`;
    const others = victims.filter((v) => v.pid !== o.pid);
    if (others.length) message += `; the kernel also killed ${named(others)}`;
  } else {
    const unnamed = kills - victims.length;
    const who = [
      ...(victims.length ? [named(victims)] : []),
      ...(unnamed > 0
        ? [
            `${victims.length ? `${unnamed} more` : unnamed} process${unnamed > 1 ? 'es' : ''} (not named in the kernel log, which rate-limits OOM reports)`,
          ]
        : []),
    ].join(' and ');
    const init = spec.args[0] ?? 'its first process';
    message =
      `out of memory inside the container (${numbers}): the kernel killed ${who}; ` +
      `the container itself was not OOM-killed: its first process "${init}" ${o.signal ? `died of signal ${o.signal}` : `exited with ${o.exitCode}`}`;
  }
  return { initKilled, kills, victims, message };
}
