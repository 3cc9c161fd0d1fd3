// --log-driver none|json-file and --log-opt max-size=N / max-file=N (Docker's names and rules): what a
// detached container's monitor does with its output (native/monitor.c): nothing (none), or
// json-file lines into container.log, rotated to container.log.1, .2, ... at max-size. Loaded only
// when one of the flags is given (ONLY_SOME_LAUNCHES in scripts/bundle.mjs).
import { fail } from '../errors.js';
import type { LogConfig } from './spec.js';

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** "10m", "512k", "1g", "1048576" (also "10mb", "10MiB", as Docker's units) -> bytes > 0. */
function parseMaxSize(v: string): number {
  const m = /^(\d+)\s*([kmg]?)(i?b)?$/i.exec(v.trim());
  const bytes = m ? Number(m[1]) * UNITS[m[2].toLowerCase()]! : NaN;
  if (!m || !Number.isSafeInteger(bytes) || bytes <= 0)
    fail(`--log-opt max-size=${v}: use a size above 0 with an optional unit k, m or g (e.g. max-size=10m)`);
  return bytes;
}

function parseMaxFile(v: string): number {
  const n = /^\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > 1000)
    fail(`--log-opt max-file=${v}: use a whole number of files from 1 to 1000 (e.g. max-file=3)`);
  return n;
}

/** The flags as a LogConfig (Docker's LogConfig {Type, Config}); every bad one is one line, exit 125. */
export function logConfigFromFlags(driver: string | undefined, opts: string[]): LogConfig {
  const type = driver ?? 'json-file';
  if (type !== 'json-file' && type !== 'none')
    fail(
      `--log-driver ${type}: minidock has json-file (the default: container.log, read by minidock logs) and none — use one of them`,
    );
  const config: Record<string, string> = {};
  for (const o of opts) {
    const eq = o.indexOf('=');
    if (eq <= 0) fail(`--log-opt ${o}: use KEY=VALUE, e.g. --log-opt max-size=10m`);
    const key = o.slice(0, eq);
    if (type === 'none')
      fail(`--log-opt ${o}: the none log driver takes no options (it keeps no log) — drop --log-opt`);
    if (key !== 'max-size' && key !== 'max-file')
      fail(`--log-opt ${o}: unknown option for the json-file log driver — use max-size=SIZE or max-file=N`);
    config[key] = o.slice(eq + 1);
  }
  const maxSize = config['max-size'] === undefined ? undefined : parseMaxSize(config['max-size']);
  const maxFile = config['max-file'] === undefined ? undefined : parseMaxFile(config['max-file']);
  if (maxFile !== undefined && maxSize === undefined)
    fail(
      `--log-opt max-file=${config['max-file']}: max-file needs max-size (files are rotated only at a size) — add --log-opt max-size=10m`,
    );
  return {
    type,
    config,
    ...(maxSize === undefined ? {} : { maxSize, maxFile: maxFile ?? 1 }),
  };
}

/** --dry-run's line. */
export function describeLogConfig(log: LogConfig): string {
  if (log.type === 'none') return 'log driver none: the output is read and dropped, minidock logs has nothing to show';
  if (!log.maxSize) return 'log driver json-file: container.log, never rotated';
  const n = log.maxFile ?? 1;
  const files = n === 1 ? 'container.log' : n === 2 ? 'container.log, .1' : `container.log, .1 to .${n - 1}`;
  return `log driver json-file: container.log rotated at ${log.config['max-size']} (${log.maxSize} bytes), at most ${n} file${n === 1 ? '' : 's'} (${files})`;
}
