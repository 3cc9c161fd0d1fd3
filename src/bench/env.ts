// The environment recorded with every result: a figure without its machine is no figure.
import { cpus, hostname, totalmem } from 'node:os';
import { detectCgroups } from '../runtime/cgroups/index.js';
import { readOpt } from '../sys/read.js';
import type { Detection } from './peers/types.js';
import type { ExperimentResult } from './types.js';

export interface BenchEnv {
  date: string;
  host: string;
  kernel: string;
  os: string;
  cpuModel: string;
  cpus: number;
  memoryMiB: number;
  cgroup: { mode: string; hybrid: boolean; reason: string };
  node: string;
  loadavgBefore: number[];
  loadavgAfter?: number[];
  command: string;
  flags: Record<string, unknown>;
  peers: Array<{
    name: string;
    available: boolean;
    version?: string;
    flags: string[];
    notes: string[];
    reason?: string;
    fix?: string;
  }>;
  daemons: Array<{ name: string; pid: number }>;
}

export function loadavg(text?: string): number[] {
  const t = text ?? readOpt('/proc/loadavg') ?? '';
  return t
    .split(/\s+/)
    .slice(0, 3)
    .map(Number)
    .filter((n) => Number.isFinite(n));
}

/** Run one experiment and record the host's load average at its start and end (report.md warns of a busy host). */
export async function withLoadavg(run: () => Promise<ExperimentResult>): Promise<ExperimentResult> {
  const start = loadavg();
  const e = await run();
  return { ...e, loadavg: { start, end: loadavg() } };
}

/** "PRETTY_NAME" from /etc/os-release. */
export function osName(text = readOpt('/etc/os-release') ?? ''): string {
  return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(text)?.[1] ?? 'unknown';
}

export function cpuModel(text = readOpt('/proc/cpuinfo') ?? ''): string {
  return /^model name\s*:\s*(.*)$/m.exec(text)?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
}

export function collectEnv(
  flags: Record<string, unknown>,
  dets: Detection[],
  daemons: Array<{ name: string; pid: number }> = [],
): BenchEnv {
  let cgroup = { mode: 'none', hybrid: false, reason: 'no cgroup filesystem found' };
  try {
    const d = detectCgroups();
    cgroup = { mode: d.mode, hybrid: d.mode === 'v1' && !!d.mounts.v2, reason: d.reason };
  } catch {
    /* recorded as none */
  }
  return {
    date: new Date().toISOString(),
    host: hostname(),
    kernel: readOpt('/proc/sys/kernel/osrelease')?.trim() || 'unknown',
    os: osName(),
    cpuModel: cpuModel(),
    cpus: cpus().length,
    memoryMiB: Math.round(totalmem() / 1048576),
    cgroup,
    node: process.version,
    loadavgBefore: loadavg(),
    command: `minidock ${process.argv.slice(2).join(' ')}`,
    flags,
    peers: dets.map((d) => ({
      name: d.peer,
      available: d.available,
      version: d.version,
      flags: d.flags,
      notes: d.notes,
      reason: d.reason,
      fix: d.fix,
    })),
    daemons,
  };
}

export function describeEnv(e: BenchEnv): string[] {
  return [
    `date: ${e.date}`,
    `machine: ${e.host}, ${e.os}, kernel ${e.kernel}, ${e.cpus} × ${e.cpuModel}, ${e.memoryMiB} MiB`,
    `cgroups: ${e.cgroup.mode}${e.cgroup.hybrid ? ' (hybrid)' : ''} — ${e.cgroup.reason}`,
    `node: ${e.node}`,
    `load average before: ${e.loadavgBefore.join(' ')}${e.loadavgAfter ? `, after: ${e.loadavgAfter.join(' ')}` : ''}`,
    `command: ${e.command}`,
  ];
}
