// Docker-style resource flags -> numbers the cgroup drivers write.
//
// Everything here is pure (no cgroup files are touched): the only thing read from the host is the list
// of online CPUs, and every function that needs it takes it as an optional argument so tests can pass
// their own. Each rejected value becomes ONE line naming the flag, the value and what would be accepted.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fail } from '../errors.js';

export interface Limits {
  memory?: number; // bytes (-m/--memory)
  memorySwap?: number; // bytes incl. memory, -1 = unlimited (--memory-swap; Docker's default with -m: 2 x memory)
  memorySwapDefault?: boolean; // memorySwap is that default, not a flag: where the kernel does not account swap, nothing to refuse
  memoryReservation?: number; // bytes (--memory-reservation)
  cpuQuotaUs?: number; // with cpuPeriodUs: --cpus 0.5 => 50000/100000, --cpu 25 => 25000/100000
  cpuPeriodUs?: number;
  cpuShares?: number; // --cpu-shares (v1 shares, 2..262144); v2 converts to weight
  cpuWeight?: number; // --cpu-weight (v2 weight 1..10000); v1 converts to shares
  cpusetCpus?: string; // --cpuset-cpus "0-1,3", validated against the host's online CPUs
  cpusetMems?: string; // memory nodes "0" (OCI linux.resources.cpu.mems; no flag sets it)
  pids?: number; // --pids-limit N / --pids N; -1 = unlimited
  oomKillDisable?: boolean; // --oom-kill-disable: v1 memory.oom_control 1 (v2 has no such switch: refused)
  memorySwappiness?: number; // --memory-swappiness 0..100: v1 memory.swappiness (v2 has none: refused)
  blkioWeight?: number; // --blkio-weight 10..1000: v1 blkio(.bfq).weight, v2 io(.bfq).weight
}

/** What parsing needs to know about the host (tests pass their own). */
export interface HostInfo {
  onlineCpus: number[]; // sorted CPU numbers, from /sys/devices/system/cpu/online
}

/** The CFS period every CPU flag uses (100 ms, the kernel's and Docker's default). */
export const CPU_PERIOD_US = 100_000;
/** The kernel refuses cpu.cfs_quota_us / cpu.max quotas below 1 ms. */
export const MIN_CPU_QUOTA_US = 1_000;
/** Docker's minimum for --memory: below this a process cannot even start reliably. */
export const MIN_MEMORY_BYTES = 6 * 1024 * 1024;
export const MIN_CPU_SHARES = 2;
export const MAX_CPU_SHARES = 262_144;
export const MIN_CPU_WEIGHT = 1;
export const MAX_CPU_WEIGHT = 10_000;
/** Docker's range for --blkio-weight (CFQ's, kept by BFQ's blkio.bfq.weight as 1..1000). */
export const MIN_BLKIO_WEIGHT = 10;
export const MAX_BLKIO_WEIGHT = 1000;

const UNITS: Record<string, number> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

function flagName(flag: string): string {
  return flag.startsWith('-') ? flag : `--${flag}`;
}

/**
 * "50M", "1g", "512k", "1048576", "1.5g", "64MiB" -> bytes. Units b, k, m, g, t, case-insensitive,
 * binary (1 k = 1024), optionally followed by "b" or "ib" like Docker's. Fractions are rounded down to
 * whole bytes. Negative numbers, empty strings and unknown units are rejected.
 */
export function parseMemory(flag: string, value: string): number {
  const name = flagName(flag);
  const text = String(value ?? '').trim();
  const bad = (): never =>
    fail(`invalid ${name} "${value ?? ''}": use a number with an optional unit b, k, m or g (e.g. 50M)`);
  const m = /^(\d+(?:\.\d+)?|\.\d+) ?(?:([kmgt])(?:i?b)?|(b))?$/i.exec(text);
  if (!m) return bad();
  const unit = (m[2] ?? m[3] ?? 'b').toLowerCase();
  const bytes = Math.floor(Number(m[1]) * UNITS[unit]!);
  if (!Number.isFinite(bytes)) return bad();
  if (bytes > Number.MAX_SAFE_INTEGER) {
    fail(`invalid ${name} "${value}": larger than ${Number.MAX_SAFE_INTEGER} bytes; use a smaller value (e.g. 50M)`);
  }
  return bytes;
}

/** Parse a kernel CPU list ("0-1,3") into sorted unique numbers; undefined when the syntax is wrong. */
export function parseCpuList(text: string): number[] | undefined {
  const t = text.trim();
  if (t === '') return [];
  const out = new Set<number>();
  for (const part of t.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) return undefined;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) return undefined;
    for (let c = lo; c <= hi; c++) out.add(c);
  }
  return [...out].sort((a, b) => a - b);
}

let cachedHost: HostInfo | undefined;
/** The host's online CPUs: /sys/devices/system/cpu/online, falling back to os.cpus(). */
export function hostInfo(): HostInfo {
  if (cachedHost) return cachedHost;
  let online: number[] | undefined;
  try {
    online = parseCpuList(readFileSync('/sys/devices/system/cpu/online', 'utf8'));
  } catch {
    online = undefined;
  }
  // (node:os only in this rare case: loading it costs every launch ~0.3 ms)
  if (!online || online.length === 0)
    online = (createRequire(import.meta.url)('node:os') as typeof import('node:os')).cpus().map((_, i) => i);
  if (online.length === 0) online = [0];
  cachedHost = { onlineCpus: online };
  return cachedHost;
}

function formatCpuList(cpus: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < cpus.length; ) {
    let j = i;
    while (j + 1 < cpus.length && cpus[j + 1] === cpus[j]! + 1) j++;
    parts.push(i === j ? `${cpus[i]}` : `${cpus[i]}-${cpus[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

function parseNumber(text: string): number | undefined {
  const t = String(text ?? '').trim();
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(t)) return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
}

/** --cpus 0.5 -> quota 50000 us per 100000 us period. Range 0.01 .. number of online CPUs. */
export function parseCpus(value: string, host: HostInfo = hostInfo()): { quotaUs: number; periodUs: number } {
  const n = host.onlineCpus.length;
  const range = `use a number of CPUs between 0.01 and ${n} (e.g. 0.5)`;
  const v = parseNumber(value);
  if (v === undefined) fail(`invalid --cpus "${value ?? ''}": ${range}`);
  if (v <= 0) fail(`invalid --cpus "${value}": must be greater than 0; ${range}`);
  const quotaUs = Math.round(v * CPU_PERIOD_US);
  if (quotaUs < MIN_CPU_QUOTA_US) {
    fail(
      `invalid --cpus "${value}": below 0.01 CPU (the kernel's minimum quota is ${MIN_CPU_QUOTA_US}us per ${CPU_PERIOD_US}us); ${range}`,
    );
  }
  if (v > n) {
    fail(
      `invalid --cpus "${value}": this host has only ${n} online CPUs (${formatCpuList(host.onlineCpus)}); ${range}`,
    );
  }
  return { quotaUs, periodUs: CPU_PERIOD_US };
}

/** --cpu 25 -> 25% of one CPU -> quota 25000 us per 100000 us. Range 1 .. 100 x online CPUs. */
export function parseCpuPercent(value: string, host: HostInfo = hostInfo()): { quotaUs: number; periodUs: number } {
  const max = 100 * host.onlineCpus.length;
  const range = `use a percentage of one CPU between 1 and ${max} (e.g. 25)`;
  const v = parseNumber(
    String(value ?? '')
      .trim()
      .replace(/%$/, ''),
  );
  if (v === undefined) fail(`invalid --cpu "${value ?? ''}": ${range}`);
  if (v <= 0) fail(`invalid --cpu "${value}": must be greater than 0; ${range}`);
  const quotaUs = Math.round((v / 100) * CPU_PERIOD_US);
  if (quotaUs < MIN_CPU_QUOTA_US) {
    fail(
      `invalid --cpu "${value}": below 1% of a CPU (the kernel's minimum quota is ${MIN_CPU_QUOTA_US}us per ${CPU_PERIOD_US}us); ${range}`,
    );
  }
  if (v > max) {
    fail(`invalid --cpu "${value}": this host has only ${host.onlineCpus.length} online CPUs; ${range}`);
  }
  return { quotaUs, periodUs: CPU_PERIOD_US };
}

function parseInteger(flag: string, value: string, lo: number, hi: number, hint: string): number {
  const t = String(value ?? '').trim();
  if (!/^-?\d+$/.test(t)) fail(`invalid ${flag} "${value ?? ''}": ${hint}`);
  const n = Number(t);
  if (n < lo || n > hi) fail(`invalid ${flag} "${value}": out of range; ${hint}`);
  return n;
}

/** Validate --cpuset-cpus against the host's online CPUs; returns the list normalised ("0-1,3"). */
export function parseCpuset(value: string, host: HostInfo = hostInfo()): string {
  const online = formatCpuList(host.onlineCpus);
  const cpus = parseCpuList(String(value ?? ''));
  if (!cpus || cpus.length === 0) {
    fail(
      `invalid --cpuset-cpus "${value ?? ''}": use a list of CPU numbers and ranges like 0-1,3 (online here: ${online})`,
    );
  }
  const missing = cpus.filter((c) => !host.onlineCpus.includes(c));
  if (missing.length > 0) {
    fail(
      `invalid --cpuset-cpus "${value}": CPU ${formatCpuList(missing)} is not online on this host; use CPUs from ${online}`,
    );
  }
  return formatCpuList(cpus);
}

/**
 * v1 cpu.shares -> v2 cpu.weight, as runc and crun map them: each range's minimum, default and maximum
 * to the other's (2 -> 1, 1024 -> 100, 262144 -> 10000), on a quadratic in log2(shares) through those
 * three points: weight = ceil(10^((l² + 125·l)/612 - 7/34)), l = log2(shares). (The linear mapping
 * they used before, 1 + (shares-2)·9999/262142, made v1's default, 1024 shares, weight 39 where v2's
 * default is 100: beside a cgroup left at the default, --cpu-shares 1024 got 28% of a contended CPU,
 * not half.)
 * Sources: opencontainers/cgroups utils.go, ConvertCPUSharesToCgroupV2Value (runc's cgroup library),
 * and containers/crun src/libcrun/cgroup-internal.h, convert_shares_to_weight.
 */
export function sharesToWeight(shares: number): number {
  if (shares <= 0) return 0; // unset
  if (shares <= MIN_CPU_SHARES) return MIN_CPU_WEIGHT;
  if (shares >= MAX_CPU_SHARES) return MAX_CPU_WEIGHT;
  const l = Math.log2(shares);
  return Math.ceil(10 ** ((l * l + 125 * l) / 612 - 7 / 34));
}

/**
 * v2 cpu.weight -> v1 cpu.shares (--cpu-weight on cgroup v1): the inverse of sharesToWeight's curve,
 * l = (sqrt(127² + 2448·log10(weight)) - 125) / 2, shares = floor(2^l): 1 -> 2, 100 -> 1024, 10000 ->
 * 262144. Rounded down, sharesToWeight(weightToShares(w)) is w again for every weight.
 */
export function weightToShares(weight: number): number {
  if (weight <= 0) return 0; // unset
  const l = (Math.sqrt(127 * 127 + 2448 * Math.log10(weight)) - 125) / 2;
  return Math.min(MAX_CPU_SHARES, Math.max(MIN_CPU_SHARES, Math.floor(2 ** l)));
}

function present(v: unknown): v is string {
  return v !== undefined && v !== null && v !== false && String(v) !== '';
}

/**
 * Commander options -> Limits. Option names: memory, memorySwap, memoryReservation, cpus, cpu,
 * cpuShares, cpuWeight, cpusetCpus, pidsLimit, pids, oomKillDisable, memorySwappiness, blkioWeight. Unset
 * options stay unset (nothing is written), except
 * --memory-swap, which follows Docker: with -m and without it, memory + swap = 2 x memory.
 */
export function parseLimits(opts: Record<string, string | undefined>, host?: HostInfo): Limits {
  // The host's CPUs are read only when a CPU flag needs them.
  const h = (): HostInfo => host ?? hostInfo();
  // Checked and added in this order (the first bad flag is the one reported): memory, CPU quota, CPU weight.
  const limits: Limits = { ...memoryLimits(opts), ...cpuQuota(opts, h), ...cpuWeightLimits(opts) };
  if (present(opts.cpusetCpus)) limits.cpusetCpus = parseCpuset(String(opts.cpusetCpus), h());
  const pids = pidsLimit(opts);
  if (pids !== undefined) limits.pids = pids;
  return { ...limits, ...memoryBehaviour(opts), ...blkioLimit(opts) };
}

/** --oom-kill-disable (a flag: any value given means on) and --memory-swappiness 0..100 (Docker's range). */
function memoryBehaviour(opts: Opts): Pick<Limits, 'oomKillDisable' | 'memorySwappiness'> {
  const out: Pick<Limits, 'oomKillDisable' | 'memorySwappiness'> = {};
  if (present(opts.oomKillDisable)) out.oomKillDisable = true;
  if (present(opts.memorySwappiness)) {
    const hint = 'use an integer between 0 (swap only when it must) and 100 (swap as freely as the host)';
    // (Docker: -1 means "unset", the host's default)
    const v = parseInteger('--memory-swappiness', String(opts.memorySwappiness), -1, 100, hint);
    if (v !== -1) out.memorySwappiness = v;
  }
  return out;
}

/** --blkio-weight 10..1000 (0: unset, as Docker). */
function blkioLimit(opts: Opts): Pick<Limits, 'blkioWeight'> {
  if (!present(opts.blkioWeight)) return {};
  const hint = `use an integer between ${MIN_BLKIO_WEIGHT} and ${MAX_BLKIO_WEIGHT} (relative to other cgroups' 500), or 0 for none`;
  const v = parseInteger('--blkio-weight', String(opts.blkioWeight), 0, MAX_BLKIO_WEIGHT, hint);
  if (v !== 0 && v < MIN_BLKIO_WEIGHT) fail(`invalid --blkio-weight "${opts.blkioWeight}": out of range; ${hint}`);
  return v === 0 ? {} : { blkioWeight: v };
}

/**
 * --blkio-weight on cgroup v2's io.weight (1..10000, default 100), as runc maps it: 10..1000 linearly
 * onto 1..10000 (opencontainers/cgroups, ConvertBlkIOToIOWeightValue). io.bfq.weight takes the v1 value.
 */
export function blkioToIoWeight(weight: number): number {
  return 1 + Math.floor(((weight - MIN_BLKIO_WEIGHT) * 9999) / 990);
}

type Opts = Record<string, string | undefined>;

/** -m, --memory-swap and --memory-reservation. */
function memoryLimits(opts: Opts): Limits {
  const limits: Limits = {};
  if (present(opts.memory)) {
    const m = parseMemory('memory', String(opts.memory));
    if (m < MIN_MEMORY_BYTES) {
      fail(
        `invalid --memory "${opts.memory}": the minimum is 6M (${MIN_MEMORY_BYTES} bytes), below that a process cannot start; use e.g. 50M`,
      );
    }
    limits.memory = m;
  }
  Object.assign(limits, swapLimit(opts, limits.memory));
  if (present(opts.memoryReservation)) {
    const r = parseMemory('memory-reservation', String(opts.memoryReservation));
    if (r <= 0) fail(`invalid --memory-reservation "${opts.memoryReservation}": must be greater than 0 (e.g. 20M)`);
    if (limits.memory !== undefined && r > limits.memory) {
      fail(
        `invalid --memory-reservation "${opts.memoryReservation}": larger than --memory ${opts.memory}; a reservation is a soft limit below the hard one`,
      );
    }
    limits.memoryReservation = r;
  }
  return limits;
}

/** --memory-swap (memory plus swap, -1 unlimited), or Docker's default with -m alone. */
function swapLimit(opts: Opts, memory: number | undefined): Pick<Limits, 'memorySwap' | 'memorySwapDefault'> {
  if (present(opts.memorySwap)) {
    const raw = String(opts.memorySwap).trim();
    if (memory === undefined) {
      fail(
        `invalid --memory-swap "${raw}": it is memory plus swap, so it needs --memory too (e.g. -m 50M --memory-swap 100M)`,
      );
    }
    const s = raw === '-1' ? -1 : parseMemory('memory-swap', raw);
    if (s !== -1 && s < memory) {
      fail(
        `invalid --memory-swap "${raw}": smaller than --memory ${opts.memory}; it counts memory plus swap, so use at least the --memory value, or -1 for unlimited swap`,
      );
    }
    return { memorySwap: s };
  }
  // Docker's rule: -m without --memory-swap lets the container use as much swap as memory
  // (memory + swap = 2 x memory). Without a swap limit the kernel would swap a cgroup at its -m
  // limit out without bound instead of OOM-killing it, on any host that has swap.
  if (memory !== undefined) return { memorySwap: 2 * memory, memorySwapDefault: true };
  return {};
}

/** --cpus or --cpu (one of them): the CFS quota and period. */
function cpuQuota(opts: Opts, h: () => HostInfo): Pick<Limits, 'cpuQuotaUs' | 'cpuPeriodUs'> {
  if (present(opts.cpus) && present(opts.cpu)) {
    fail(
      `conflicting --cpus "${opts.cpus}" and --cpu "${opts.cpu}": both set the CPU quota; use only one (--cpus 0.5 equals --cpu 50)`,
    );
  }
  let q: { quotaUs: number; periodUs: number } | undefined;
  if (present(opts.cpus)) q = parseCpus(String(opts.cpus), h());
  else if (present(opts.cpu)) q = parseCpuPercent(String(opts.cpu), h());
  return q ? { cpuQuotaUs: q.quotaUs, cpuPeriodUs: q.periodUs } : {};
}

/** --cpu-shares or --cpu-weight (one of them): the relative CPU weight. */
function cpuWeightLimits(opts: Opts): Pick<Limits, 'cpuShares' | 'cpuWeight'> {
  if (present(opts.cpuShares) && present(opts.cpuWeight)) {
    fail(
      `conflicting --cpu-shares "${opts.cpuShares}" and --cpu-weight "${opts.cpuWeight}": both set the relative CPU weight; use only one`,
    );
  }
  if (present(opts.cpuShares)) {
    const cpuShares = parseInteger(
      '--cpu-shares',
      String(opts.cpuShares),
      MIN_CPU_SHARES,
      MAX_CPU_SHARES,
      `use an integer between ${MIN_CPU_SHARES} and ${MAX_CPU_SHARES} (default 1024)`,
    );
    return { cpuShares };
  }
  if (present(opts.cpuWeight)) {
    const cpuWeight = parseInteger(
      '--cpu-weight',
      String(opts.cpuWeight),
      MIN_CPU_WEIGHT,
      MAX_CPU_WEIGHT,
      `use an integer between ${MIN_CPU_WEIGHT} and ${MAX_CPU_WEIGHT} (default 100)`,
    );
    return { cpuWeight };
  }
  return {};
}

/** --pids-limit and its alias --pids: the same number if both are given. */
function pidsLimit(opts: Opts): number | undefined {
  const pidsHint = 'use a positive integer (e.g. 100), or -1 for unlimited';
  let pids: number | undefined;
  for (const [key, flag] of [
    ['pidsLimit', '--pids-limit'],
    ['pids', '--pids'],
  ] as const) {
    const v = opts[key];
    if (!present(v)) continue;
    const n = parseInteger(flag, String(v), -1, Number.MAX_SAFE_INTEGER, pidsHint);
    if (n === 0) fail(`invalid ${flag} "${v}": must not be 0; ${pidsHint}`);
    if (pids !== undefined && pids !== n) {
      fail(
        `conflicting --pids-limit "${opts.pidsLimit}" and --pids "${opts.pids}": they are the same flag; use only one`,
      );
    }
    pids = n;
  }
  return pids;
}
