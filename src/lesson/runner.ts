// Runs a lesson's steps on the host shell (bash, from the project root, as the student would) and
// judges their output against the expected patterns. Also decides which steps can run here:
// a step whose needs are unmet is skipped with the reason, never silently dropped.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExitExpectation, Lang, Pattern, Step } from './parse.js';
import { strings } from './strings.js';
import { shellCodeOfSignal } from '../sys/constants.js';

export interface RunContext {
  /** where steps run: the project root */
  cwd: string;
  /** extra environment (e.g. MINIDOCK_ROOT for tests) */
  env?: NodeJS.ProcessEnv;
  /** run `slow` steps too */
  slow?: boolean;
  /** the language of every reason and message (default English) */
  lang?: Lang;
}

export interface PatternResult {
  pattern: string;
  negate: boolean;
  ok: boolean;
  /** the named groups `(?<name>...)` that matched: which of the pattern's accepted cases was seen */
  cases: string[];
}

export interface StepResult {
  code: number | null;
  signal: string | null;
  output: string;
  ms: number;
  timedOut: boolean;
  exitOk: boolean;
  patterns: PatternResult[];
  ok: boolean;
}

/** Strip terminal colour codes: patterns are written against plain text. */
export function plain(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r\n/g, '\n');
}

export function exitMatches(want: ExitExpectation, code: number | null): boolean {
  if (want === 'any') return true;
  if (want === 'nonzero') return code !== 0;
  return code === want;
}

export function describeExit(want: ExitExpectation, lang: Lang = 'en'): string {
  const words = strings(lang);
  return want === 'any' ? words.anyExit : want === 'nonzero' ? words.nonzeroExit : words.exitN(want);
}

/** How a pattern's source is shown: as `/regex/flags`, once (a source already written that way
 * keeps its own slashes), without the `! ` of a negated one. */
export function showPattern(source: string): string {
  const text = source.startsWith('! ') ? source.slice(2) : source;
  return /^\/.*\/[dgimsuy]*$/.test(text) ? text : `/${text}/`;
}

export function matchPatterns(patterns: Pattern[], output: string): PatternResult[] {
  const text = plain(output);
  return patterns.map((pattern) => {
    pattern.regex.lastIndex = 0;
    const match = pattern.regex.exec(text);
    const cases = match?.groups ? Object.keys(match.groups).filter((name) => match.groups![name] !== undefined) : [];
    return { pattern: pattern.source, negate: pattern.negate, ok: pattern.negate ? !match : !!match, cases };
  });
}

/** Judge an output and exit status against a step (pure: the viewer and tests use it). */
export function judge(
  step: Pick<Step, 'expect' | 'exit'>,
  output: string,
  code: number | null,
  timedOut = false,
): Pick<StepResult, 'exitOk' | 'patterns' | 'ok'> {
  const patterns = matchPatterns(step.expect, output);
  const exitOk = !timedOut && exitMatches(step.exit, code);
  return { exitOk, patterns, ok: exitOk && patterns.every((result) => result.ok) };
}

/**
 * The environment of a step or a check. Lessons write plain `minidock`, as a student types it; the
 * one that answers must be this checkout's, not whichever another build linked into /usr/local/bin,
 * so lessons/.bin (a symlink to bin/minidock.js) comes first on PATH.
 */
export function stepEnv(ctx: RunContext, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...ctx.env, ...extra };
  env.PATH = `${join(ctx.cwd, 'lessons', '.bin')}:${env.PATH || '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'}`;
  return env;
}

/** Run one step's command with bash; output is stdout and stderr interleaved as they arrive. */
export function runStep(
  step: Pick<Step, 'command' | 'expect' | 'exit' | 'timeoutS'>,
  ctx: RunContext,
  onOutput?: (chunk: string) => void,
): Promise<StepResult> {
  const startedAt = performance.now();
  return new Promise((resolvePromise) => {
    // its own process group, so that a timeout kills everything the step started
    const child = spawn('bash', ['-c', step.command], {
      cwd: ctx.cwd,
      env: stepEnv(ctx),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    let timedOut = false;
    const add = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      output += text;
      onOutput?.(text);
    };
    child.stdout.on('data', add);
    child.stderr.on('data', add);
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, step.timeoutS * 1000);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      // bash execs a lone command, so a killed command shows as a signal here: report it as a
      // shell would, 128 + the signal number (SIGKILL -> 137, SIGABRT -> 134)
      const code = status ?? (signal ? shellCodeOfSignal(signal) : null);
      if (timedOut) output += `\n${strings(ctx.lang ?? 'en').killedAfter(step.timeoutS)}\n`;
      const ms = performance.now() - startedAt;
      resolvePromise({ code, signal, output, ms, timedOut, ...judge(step, output, code, timedOut) });
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      output += String(e);
      resolvePromise({
        code: null,
        signal: null,
        output,
        ms: performance.now() - startedAt,
        timedOut,
        ...judge(step, output, null, timedOut),
      });
    });
  });
}

/** Run a shell command to completion (checks use it): output and exit status. */
export function runShell(
  command: string,
  ctx: RunContext,
  extraEnv: NodeJS.ProcessEnv = {},
  timeoutS = 120,
): { code: number | null; output: string } {
  const result = spawnSync('bash', ['-c', command], {
    cwd: ctx.cwd,
    env: stepEnv(ctx, extraEnv),
    encoding: 'utf8',
    timeout: timeoutS * 1000,
    maxBuffer: 16 << 20,
  });
  return { code: result.status, output: String(result.stdout ?? '') + String(result.stderr ?? '') };
}

// ---- needs -------------------------------------------------------------------------------------

const cache = new Map<string, string | undefined>();

/** The cgroup mode, from /proc/self/mountinfo (never from guessed paths). */
export function cgroupMode(mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): 'v1' | 'v2' | 'none' {
  let v1 = false;
  let v2 = false;
  for (const line of mountinfo.split('\n')) {
    const fsType = line.split(' - ')[1]?.split(' ')[0];
    if (fsType === 'cgroup') v1 = true;
    if (fsType === 'cgroup2') v2 = true;
  }
  // a hybrid host (v1 controllers plus an empty cgroup2) limits through v1
  return v1 ? 'v1' : v2 ? 'v2' : 'none';
}

function onPath(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Why one need is unmet here, or undefined when it is met. */
function unmetNeed(need: string, ctx: RunContext): string | undefined {
  const words = strings(ctx.lang ?? 'en');
  const key = `${ctx.cwd}\0${ctx.lang}\0${need}`;
  if (cache.has(key)) return cache.get(key);
  let why: string | undefined;
  const [kind, ...rest] = need.split(':');
  const arg = rest.join(':');
  switch (kind) {
    case 'root':
      why = process.getuid?.() === 0 ? undefined : words.needsRoot;
      break;
    case 'cgroup-v1':
    case 'cgroup-v2':
      why = cgroupMode() === kind.slice(7) ? undefined : words.needsCgroup(kind.slice(7), cgroupMode());
      break;
    case 'docker': {
      // the client alone is not enough: the daemon must answer
      const result = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], {
        stdio: 'ignore',
        timeout: 10_000,
      });
      why =
        result.status === 0
          ? undefined
          : onPath('docker')
            ? words.needsDockerd
            : words.needsPackage('Docker', 'docker.io');
      break;
    }
    case 'podman':
    case 'runc':
    case 'crun':
    case 'ctr':
      why = onPath(kind) ? undefined : words.needsPackage(kind, kind === 'ctr' ? 'containerd' : kind);
      break;
    case 'cmd':
      why = onPath(arg) ? undefined : words.needsProgram(arg);
      break;
    case 'file':
      why = existsSync(join(ctx.cwd, arg)) ? undefined : words.needsFile(arg);
      break;
    case 'verb': {
      // `minidock X --help` prints the general help and exits 0 when X does not exist, so the
      // verb exists only if its own usage line comes back
      const [verb, option] = arg.split(':');
      const result = spawnSync(join(ctx.cwd, 'bin', 'minidock.js'), [verb, '--help'], {
        cwd: ctx.cwd,
        encoding: 'utf8',
        timeout: 20_000,
        env: { ...process.env, ...ctx.env },
      });
      const usage = String(result.stdout ?? '');
      if (result.status !== 0 || !usage.startsWith(`Usage: minidock ${verb}`)) why = words.needsVerb(verb);
      else if (option && !usage.includes(option)) why = words.needsVerb(`${verb} ${option}`);
      break;
    }
    default:
      why = words.unknownNeed(need);
  }
  cache.set(key, why);
  return why;
}

/** Every reason why a step cannot run here (empty: it can). */
export function unmetNeeds(step: Pick<Step, 'needs'> & { slow?: boolean }, ctx: RunContext): string[] {
  const out = step.needs.map((need) => unmetNeed(need, ctx)).filter((why): why is string => !!why);
  if (step.slow && !(ctx.slow || process.env.MINIDOCK_LESSON_SLOW === '1')) out.push(strings(ctx.lang ?? 'en').slow);
  return out;
}

/** Forget cached need checks (tests). */
export function clearNeedsCache(): void {
  cache.clear();
}
