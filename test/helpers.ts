// Shared test helpers: run the real CLI, and take snapshots of the host to prove nothing leaked.
import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { MinidockError } from '../src/errors.js';
import { allCgroupDirs, detectCgroups } from '../src/runtime/cgroups/index.js';

export const ROOT_DIR = resolve(__dirname, '..');
export const BIN = join(ROOT_DIR, 'bin', 'minidock.js');
export const ROOTFS = join(ROOT_DIR, 'rootfs');
export const isRoot = process.getuid?.() === 0;
export const built =
  existsSync(join(ROOT_DIR, 'dist', 'minidock.cjs')) &&
  existsSync(join(ROOT_DIR, 'native', 'build', 'libminidock.so')) &&
  existsSync(join(ROOTFS, 'bin', 'busybox'));
/** Integration tests need root and `npm run build`; they say so when they skip. In CI (root, after
 * `npm test`'s build) a missing build is a broken build, never a reason to skip. */
if (process.env.CI && isRoot && !built) {
  throw new Error(
    'CI: dist/minidock.cjs, native/build/libminidock.so or rootfs/bin/busybox is missing after the build',
  );
}
export const canRun = isRoot && built;
export const skipReason = !isRoot
  ? 'needs root (namespaces, mounts, cgroups)'
  : !built
    ? 'needs `npm run build` first'
    : '';

/** The host's real cgroup2 mount (a hybrid host has one too), and why a test that needs it skips. */
export const cgroup2 = (() => {
  try {
    return detectCgroups().mounts.v2;
  } catch {
    return undefined;
  }
})();
export const cgroup2Skip = !canRun ? skipReason : !cgroup2 ? 'no cgroup2 mount' : '';

/**
 * A private state root and cgroup parent per test file, so that test files (and several people
 * testing on one machine) never see each other's containers in their leak checks.
 */
export function tempStateRoot(): string {
  return mkdtempSync(join(tmpdir(), 'minidock-test-'));
}

/** The cgroup parent used for containers of this state root (MINIDOCK_CGROUP_PARENT). */
export function cgroupParentFor(root: string): string {
  return `minidock-test-${basename(root).replace(/^minidock-test-/, '')}`;
}

/** Remove the state root and the per-file cgroup parents (left in place by design, like --cgroup-parent). */
export function removeStateRoot(root: string): void {
  const parent = cgroupParentFor(root);
  for (const dir of minidockCgroups()
    .filter((p) => p.endsWith('/' + parent))
    .reverse()) {
    try {
      rmdirSync(dir);
    } catch {
      /* not empty: a leak, which the tests report */
    }
  }
  rmSync(root, { recursive: true, force: true });
}

function envFor(root?: string): NodeJS.ProcessEnv {
  const env = { ...process.env };
  if (root) {
    env.MINIDOCK_ROOT = root;
    env.MINIDOCK_CGROUP_PARENT = cgroupParentFor(root);
  }
  return env;
}

export interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function minidock(args: string[], opts: SpawnSyncOptions & { root?: string } = {}): Result {
  const env = { ...envFor(opts.root), ...(opts.env ?? {}) };
  const r = spawnSync(BIN, args, { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 60_000, ...opts, env });
  return { code: r.status, signal: r.signal, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

/** Start minidock in the background; resolve with its result. */
export function minidockAsync(args: string[], opts: { root?: string; input?: string } = {}) {
  const env = envFor(opts.root);
  const child = spawn(BIN, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  if (opts.input !== undefined) child.stdin.end(opts.input);
  const done = new Promise<Result>((res) => child.on('close', (code, signal) => res({ code, signal, stdout, stderr })));
  return { child, done, output: () => stdout };
}

/** Every directory under the cgroup mounts whose name mentions minidock. */
export function minidockCgroups(): string[] {
  return allCgroupDirs()
    .filter((d) => basename(d).includes('minidock'))
    .sort();
}

/**
 * The host state that a container run must leave exactly as it found it: mounts anywhere under the
 * state root, cgroups under this state root's cgroup parent, container directories, named volumes.
 * (Mounts inside a container live in its own mount namespace and vanish with it; a leak would be
 * a mount made in the host namespace, i.e. under the state root.)
 */
export function hostSnapshot(stateRoot?: string): {
  mounts: string[];
  cgroups: string[];
  containers: string[];
  volumes: string[];
} {
  const all = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ')[4] + ' ' + l.split(' - ')[1]); // mount point + fs, without ids
  const mounts = stateRoot ? all.filter((m) => m.startsWith(stateRoot)) : all.filter((m) => m.includes('minidock'));
  const parent = stateRoot ? '/' + cgroupParentFor(stateRoot) + '/' : 'minidock';
  const list = (dir: string): string[] => {
    try {
      return stateRoot ? readdirSync(join(stateRoot, dir)).sort() : [];
    } catch {
      return []; // none yet
    }
  };
  // (named volumes outlive containers by design: a test that makes one removes it)
  return {
    mounts: mounts.sort(),
    cgroups: minidockCgroups().filter((p) => p.includes(parent)),
    containers: list('containers'),
    volumes: list('volumes'),
  };
}

/** util-linux script(1) is here: a shell line can run on a new pty */
export const hasScript =
  spawnSync('script', ['--version'], { encoding: 'utf8' }).stdout?.includes('util-linux') ?? false;

/** Run a shell line on a new pty (script(1)): its stdin, stdout and stderr are that terminal, with
 * the usual cooked settings. `input` is typed into it after `delayMs`. script's stdin stays open
 * until it is done, as a user's terminal does: at EOF on it, script passes an EOF on and may end the
 * session before the last output has crossed its pty.
 * The exit status and the transcript, bytes as the terminal got them ("\r\n" included). */
export async function onTerminal(
  cmd: string,
  o: { input?: string; delayMs?: number } = {},
): Promise<{ code: number | null; out: string }> {
  const child = spawn('script', ['-qfec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => chunks.push(c));
  child.stderr.on('data', (c: Buffer) => chunks.push(c));
  const { input } = o;
  if (input) setTimeout(() => child.stdin.write(input), o.delayMs ?? 0);
  const code = await new Promise<number | null>((res) => child.on('close', (c) => res(c)));
  child.stdin.destroy();
  return { code, out: Buffer.concat(chunks).toString('latin1') };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Wait until fn() is truthy (polling), or throw after timeoutMs. An empty array counts as "not
 * yet" (`waitFor(() => pidsMatching(...))` waits for a process, not for the first poll). */
export async function waitFor<T>(fn: () => T | undefined | false, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = fn();
    if (v && !(Array.isArray(v) && v.length === 0)) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A bundle's two code cache files in `dir` (bin/minidock.js: NAME.cache, NAME.side.cache), removed
 * first; `made()`: which of them exist now. */
export function codeCaches(dir: string, name: string): { main: string; side: string; made: () => boolean[] } {
  const main = join(dir, `${name}.cache`);
  const side = join(dir, `${name}.side.cache`);
  for (const f of [main, side]) rmSync(f, { force: true });
  return { main, side, made: () => [existsSync(main), existsSync(side)] };
}

/** Host pids whose command line contains `needle` and, if given, whose comm is `comm`
 * (to find a container's processes from outside, and not minidock's own, whose argv holds them too). */
export function pidsMatching(needle: string, comm?: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (comm && readFileSync(`/proc/${d}/comm`, 'utf8').trim() !== comm) continue;
      if (cmd.includes(needle)) out.push(Number(d));
    } catch {
      /* exited */
    }
  }
  return out;
}

/**
 * The scaffolding of every integration test file: a private state root (and cgroup parent) for the
 * file, and a leak check around each test — mounts, cgroups and container directories must be
 * exactly as before. Call inside describe(); `set` receives the root once it exists.
 */
export function useLeakCheckedRoot(set: (root: string) => void): void {
  let root = '';
  let before: ReturnType<typeof hostSnapshot>;
  beforeAll(() => {
    root = tempStateRoot();
    set(root);
  });
  afterAll(() => removeStateRoot(root));
  beforeEach(() => {
    before = hostSnapshot(root);
  });
  afterEach(() => {
    expect(hostSnapshot(root)).toEqual(before);
  });
}

/** The MinidockError `fn` throws (one line), or a failure when it throws nothing. */
export function minidockError(fn: () => unknown): MinidockError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(MinidockError);
    expect((e as Error).message).not.toContain('\n');
    return e as MinidockError;
  }
  throw new Error('expected a MinidockError');
}

/** minidockError for a promise: it must reject with one MinidockError of one line. */
export async function minidockRejection(p: Promise<unknown>): Promise<MinidockError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (e === undefined) throw new Error('expected a MinidockError');
  return minidockError(() => {
    throw e;
  });
}

/** The leases of a minidock network, address -> container id: the files of networks/NAME.leases/
 * (src/runtime/network/ipam.ts). */
export function leasesOf(root: string, network: string): Record<string, string> {
  const dir = join(root, 'networks', `${network}.leases`);
  if (!existsSync(dir)) return {};
  return Object.fromEntries(
    readdirSync(dir).map((ip) => [
      ip,
      (JSON.parse(readFileSync(join(dir, ip), 'utf8')) as { container: string }).container,
    ]),
  );
}
