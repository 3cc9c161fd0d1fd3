// Docker's healthcheck: --health-cmd and its timings (or the image's HEALTHCHECK) as the spec's
// healthcheck (healthFromFlags), what the C monitor is told to carry it out (monitorHealthArgs), and
// what it recorded, for ps and inspect (readHealth, healthStatus).
//
// Who probes: the container's monitor (native/monitor.c, "the healthcheck") forks a keeper that
// runs `minidock exec ID /bin/sh -c CMD` every interval, kills a probe that outlives the timeout,
// keeps the last five results and writes Docker's State.Health to <container>/health.json (a temp
// file renamed over it), journaling each change as `health_status: healthy`. A foreground run has no
// monitor, so no healthcheck (src/cli/run.ts refuses --health-cmd without -d). docs/lifecycle.md,
// "Healthchecks".
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { fail } from '../../errors.js';
import type { ContainerSpec, HealthConfig } from '../spec.js';

/** Docker's defaults (moby daemon/health.go). */
export const HEALTH_DEFAULTS = {
  intervalMs: 30_000,
  timeoutMs: 30_000,
  startPeriodMs: 0,
  startIntervalMs: 5_000,
  retries: 3,
};

/** The --health-* flags, as commander gives them (--no-healthcheck: healthcheck false). */
export interface HealthFlags {
  healthCmd?: string;
  healthInterval?: string;
  healthTimeout?: string;
  healthRetries?: string;
  healthStartPeriod?: string;
  healthStartInterval?: string;
  healthcheck?: boolean;
}

const TIMING_FLAGS = [
  ['healthInterval', '--health-interval', 'intervalMs', 'Interval'],
  ['healthTimeout', '--health-timeout', 'timeoutMs', 'Timeout'],
  ['healthStartPeriod', '--health-start-period', 'startPeriodMs', 'StartPeriod'],
  ['healthStartInterval', '--health-start-interval', 'startIntervalMs', 'StartInterval'],
] as const;

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, μs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/**
 * Go's time.ParseDuration, which Docker's flags use: "1m30s", "500ms", "1.5h", "0"; a unit on every
 * number. Milliseconds (Docker's smallest accepted step is 1 ms). One line, exit 125, otherwise.
 */
export function parseDuration(raw: string, flag: string): number {
  const how = `use a number with a unit (ns, us, ms, s, m, h), e.g. 30s, 1m30s or 500ms`;
  if (raw.startsWith('-') && raw !== '-0') fail(`${flag} ${raw}: ${flag} cannot be negative`);
  const s = raw.replace(/^[+-]/, '');
  if (s === '0') return 0;
  if (!s.length) fail(`${flag} ${raw}: not a duration — ${how}`);
  const part = /(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let ns = 0;
  let at = 0;
  while (at < s.length) {
    part.lastIndex = at;
    const m = part.exec(s);
    if (!m) return fail(`${flag} ${raw}: not a duration — ${how}`);
    ns += Number(m[1]) * UNIT_NS[m[2]];
    at = part.lastIndex;
  }
  if (ns > 0 && ns < 1e6) fail(`${flag} ${raw}: ${flag} cannot be less than 1ms (Docker's minimum)`);
  if (ns / 1e6 > 2 ** 31) fail(`${flag} ${raw}: too long — at most about 24 days (${2 ** 31} ms)`);
  return Math.round(ns / 1e6);
}

/** A duration as Go prints it (time.Duration.String): "1m30s", "500ms", "1h0m0s", "0s". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  return (h ? `${h}h${m}m` : m ? `${m}m` : '') + `${s}s`;
}

/** An image config's Healthcheck (Docker's: Test, and Interval/Timeout/StartPeriod/StartInterval in ns, Retries). */
interface ImageHealthcheck {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

/** The image's HEALTHCHECK, as far as it makes sense (anything else: none). */
function imageHealth(raw: unknown): ImageHealthcheck | undefined {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const h = raw as Record<string, unknown>;
  const test = Array.isArray(h.Test) && h.Test.every((t) => typeof t === 'string') ? (h.Test as string[]) : undefined;
  const num = (v: unknown): number | undefined => (typeof v === 'number' && v > 0 ? v : undefined);
  return {
    Test: test,
    Interval: num(h.Interval),
    Timeout: num(h.Timeout),
    StartPeriod: num(h.StartPeriod),
    StartInterval: num(h.StartInterval),
    Retries: num(h.Retries),
  };
}

/** Docker's Test: ["CMD-SHELL", cmd] or ["CMD", arg...]; ["NONE"] (or nothing) is no healthcheck. */
function checkTest(test: string[] | undefined): string[] | undefined {
  if (!test?.length || test[0] === 'NONE') return undefined;
  if (test[0] === 'CMD-SHELL' && test.length === 2 && test[1]) return test;
  if (test[0] === 'CMD' && test.length > 1 && test[1]) return test;
  return fail(
    `image config: Healthcheck.Test ${JSON.stringify(test)} is neither ["CMD-SHELL", CMD] nor ["CMD", ARG...] — fix the image, or give --health-cmd / --no-healthcheck`,
  );
}

/**
 * The healthcheck of a new container: --health-cmd over the image's HEALTHCHECK, and each timing
 * given over the image's, the image's over Docker's defaults (Docker merges them field by field).
 * --no-healthcheck: none, even the image's. Undefined: no healthcheck.
 */
export function healthFromFlags(f: HealthFlags, imageRaw?: unknown): HealthConfig | undefined {
  const others =
    f.healthCmd !== undefined || f.healthRetries !== undefined || TIMING_FLAGS.some(([k]) => f[k] !== undefined);
  if (f.healthcheck === false) {
    if (others) fail('--no-healthcheck conflicts with --health-* options — drop one or the other');
    return undefined;
  }
  if (f.healthCmd !== undefined && !f.healthCmd.trim())
    fail("--health-cmd '': an empty command — give the command to run, e.g. --health-cmd 'wget -q -O- localhost'");
  const image = imageHealth(imageRaw);
  const timings: Partial<Record<(typeof TIMING_FLAGS)[number][2], number>> = {};
  for (const [k, flag, key] of TIMING_FLAGS) if (f[k] !== undefined) timings[key] = parseDuration(f[k]!, flag);
  let retries: number | undefined;
  if (f.healthRetries !== undefined) {
    if (!/^[+-]?\d+$/.test(f.healthRetries) || Number(f.healthRetries) > 2 ** 31 - 1)
      fail(`--health-retries ${f.healthRetries}: use a whole number, e.g. 3`);
    retries = Number(f.healthRetries);
    if (retries < 0) fail(`--health-retries ${f.healthRetries}: --health-retries cannot be negative`);
  }
  const test = f.healthCmd !== undefined ? ['CMD-SHELL', f.healthCmd] : checkTest(image?.Test);
  if (!test) {
    if (!others) return undefined; // (an image's HEALTHCHECK NONE, or none at all)
    const given = [
      f.healthRetries !== undefined ? '--health-retries' : '',
      ...TIMING_FLAGS.map(([k, flag]) => (f[k] !== undefined ? flag : '')),
    ].filter(Boolean);
    return fail(
      `${given.join(', ')} without --health-cmd: there is no healthcheck to time (the image has no HEALTHCHECK) — add --health-cmd CMD`,
    );
  }
  const pick = (key: (typeof TIMING_FLAGS)[number][2], ns: number | undefined): number =>
    timings[key] || (ns ? Math.max(1, Math.round(ns / 1e6)) : HEALTH_DEFAULTS[key]);
  return {
    test,
    intervalMs: pick('intervalMs', image?.Interval),
    timeoutMs: pick('timeoutMs', image?.Timeout),
    startPeriodMs: pick('startPeriodMs', image?.StartPeriod),
    startIntervalMs: pick('startIntervalMs', image?.StartInterval),
    retries: retries || image?.Retries || HEALTH_DEFAULTS.retries,
  };
}

/** The probe's command line inside the container: CMD-SHELL through /bin/sh -c, CMD as it is. */
export const probeCommand = (h: HealthConfig): string[] =>
  h.test[0] === 'CMD-SHELL' ? ['/bin/sh', '-c', h.test[1]] : h.test.slice(1);

/**
 * The monitor's arguments (native/monitor.c, health_args): the timings in ms, the timeout as Docker
 * prints it, and the probe: `minidock exec --root ROOT ID CMD...` (bin: bin/minidock.js).
 */
export function monitorHealthArgs(spec: ContainerSpec, root: string, bin: string): string[] {
  const h = spec.healthcheck;
  if (!h) return [];
  const argv = [bin, 'exec', '--root', root, spec.id, ...probeCommand(h)];
  return [
    '--health',
    ...[h.intervalMs, h.timeoutMs, h.startPeriodMs, h.startIntervalMs, h.retries].map(String),
    formatDuration(h.timeoutMs),
    String(argv.length),
    ...argv,
  ];
}

/** --dry-run's line. */
export function describeHealth(h: HealthConfig): string {
  const cmd = probeCommand(h)
    .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(' ');
  return `# minidock: healthcheck: ${cmd} every ${formatDuration(h.intervalMs)} (timeout ${formatDuration(h.timeoutMs)}, unhealthy after ${h.retries} failures in a row, start period ${formatDuration(h.startPeriodMs)}), run through minidock exec by the monitor's health keeper; its verdict in health.json (ps, inspect State.Health)`;
}

/** Docker's Config.Healthcheck (durations in ns). */
export function healthConfigJson(h: HealthConfig): Record<string, unknown> {
  return {
    Test: h.test,
    Interval: h.intervalMs * 1e6,
    Timeout: h.timeoutMs * 1e6,
    StartPeriod: h.startPeriodMs * 1e6,
    StartInterval: h.startIntervalMs * 1e6,
    Retries: h.retries,
  };
}

export interface HealthLogEntry {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

/** Docker's State.Health, as the monitor's keeper wrote it. */
export interface HealthState {
  Status: 'starting' | 'healthy' | 'unhealthy';
  FailingStreak: number;
  Log: HealthLogEntry[];
}

/** <dir>/health.json, or undefined (none yet, or unreadable: the keeper renames whole files in). */
export function readHealth(dir: string): HealthState | undefined {
  try {
    const h = JSON.parse(readFileSync(posix.join(dir, 'health.json'), 'utf8')) as HealthState;
    return typeof h?.Status === 'string' && Array.isArray(h.Log) ? h : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A container's health for ps (--filter health=): "none" without a healthcheck or before its first
 * start; a running one's as health.json says ("starting" before the keeper wrote it); a stopped one's
 * "unhealthy", as Docker's (its monitor sets that when the probes stop, "for compatibility").
 */
export function healthStatus(
  dir: string,
  hasHealthcheck: boolean,
  running: boolean,
): 'starting' | 'healthy' | 'unhealthy' | 'none' {
  if (!hasHealthcheck) return 'none';
  const h = readHealth(dir);
  if (!running) return h ? 'unhealthy' : 'none';
  return h?.Status ?? 'starting';
}
