// The state root on first use (ensureStateRoot), doctor's look at it (checkStateRoot), and which
// stale containers are the user's to keep (isKept, staleReason). Plain directories in a temp dir:
// no root needed.
import { chmodSync, mkdtempSync, rmSync, statfsSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { checkStateRoot } from '../../src/bench/doctor.js';
import { ensureStateRoot, onStateRootWarning } from '../../src/runtime/state-root.js';
import { bootId, type Entry } from '../../src/runtime/container-store/records.js';
import { effectiveStatus, isKept, staleReason } from '../../src/runtime/container-store/staleness.js';

const base = mkdtempSync(join(tmpdir(), 'minidock-unit-root-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const umask = process.umask();
const modeOf = (p: string): number => statSync(p).mode & 0o7777;

describe('ensureStateRoot', () => {
  it('makes the root 0711 and its missing parents 0755 (under the umask), and leaves an existing root alone', () => {
    const root = join(base, 'a', 'b', 'root');
    expect(ensureStateRoot(root)).toBe(root);
    expect(modeOf(root)).toBe(0o711 & ~umask);
    expect(modeOf(join(base, 'a', 'b'))).toBe(0o755 & ~umask);
    expect(modeOf(join(base, 'a'))).toBe(0o755 & ~umask);
    const mine = join(base, 'mine');
    ensureStateRoot(mine);
    // an existing root keeps the mode its owner gave it
    writeFileSync(join(mine, 'x'), '');
    expect(ensureStateRoot(mine)).toBe(mine);
  });

  it('a file in the way, or a directory where mkdir says ENOENT, is one MinidockError (exit 125), never a loop', () => {
    const file = join(base, 'file');
    writeFileSync(file, '');
    expect(() => ensureStateRoot(file)).toThrow(
      expect.objectContaining({
        name: 'MinidockError',
        code: 125,
        message: expect.stringMatching(
          /^the state root .*file exists and is not a directory: choose another state root/,
        ),
      }),
    );
    expect(() => ensureStateRoot(join(file, 'x', 'y'))).toThrow(
      new RegExp(`^cannot create the state root ${file}/x/y: ${file} is not a directory — `),
    );
    const dangling = join(base, 'dangling');
    symlinkSync(join(base, 'nowhere'), dangling);
    expect(() => ensureStateRoot(dangling)).toThrow(
      new RegExp(
        `^cannot create the state root ${dangling}: ${dangling} is in the way \\(a symlink to nothing\\?\\) — `,
      ),
    );
    // /proc refuses mkdir with ENOENT under a directory that exists: Node's recursive mkdir spins on it
    expect(() => ensureStateRoot('/proc/minidock-unit/root')).toThrow(
      /^cannot create the state root \/proc\/minidock-unit\/root: mkdir \/proc\/minidock-unit: ENOENT — /,
    );
  });

  it('an open root (0755) is made 0711 and the line goes to the registered callback, never to stderr by the library', () => {
    const open = join(base, 'open');
    ensureStateRoot(open);
    chmodSync(open, 0o755);
    const lines: string[] = [];
    onStateRootWarning((line) => lines.push(line));
    const stderr = vi.spyOn(process.stderr, 'write');
    try {
      expect(ensureStateRoot(open)).toBe(open);
      expect(modeOf(open)).toBe(0o711);
      expect(lines).toEqual([`the state root ${open} was mode 0755 (other users could list or write it): made 0711`]);
      expect(stderr).not.toHaveBeenCalled();
      // told once per process, as the commands print it once
      chmodSync(open, 0o755);
      ensureStateRoot(open);
      expect(lines).toHaveLength(1);
    } finally {
      stderr.mockRestore();
      onStateRootWarning(() => {});
    }
  });
});

describe('doctor: checkStateRoot', () => {
  it('a missing root: where it will be made, and that filesystem; nothing is created', () => {
    const root = join(base, 'not', 'yet');
    const [place, fs] = checkStateRoot(root, true);
    expect(place).toEqual({
      area: 'state root',
      status: 'ok',
      found: `${root} does not exist yet: the first run or import creates it (mode 0711) in ${base}`,
    });
    expect(fs.area).toBe('state root filesystem');
    expect(fs.found).toMatch(/ (MiB|GiB) free/);
    expect(() => statSync(join(base, 'not'))).toThrow();
  });

  it('an existing root shows its mode; a file is a failure with the fix', () => {
    const root = join(base, 'exists');
    ensureStateRoot(root);
    expect(checkStateRoot(root, true)[0]).toEqual({
      area: 'state root',
      status: 'ok',
      found: `${root} (mode 0${(0o711 & ~umask).toString(8)})`,
    });
    const file = join(base, 'afile');
    writeFileSync(file, '');
    expect(checkStateRoot(file, true)[0]).toEqual({
      area: 'state root',
      status: 'fail',
      found: `${file} is not a directory`,
      fix: 'choose another state root (--root DIR or MINIDOCK_ROOT)',
    });
  });

  // a tmpfs to look at: /dev/shm is one on most Linux machines (statfs f_type TMPFS_MAGIC)
  const shmIsTmpfs = ((): boolean => {
    try {
      return statfsSync('/dev/shm').type === 0x01021994;
    } catch {
      return false;
    }
  })();
  it.skipIf(!shmIsTmpfs)(
    'a root on tmpfs is a warning: kept containers are lost at reboot (skipped when /dev/shm is not a tmpfs)',
    () => {
      const fs = checkStateRoot('/dev/shm/minidock-unit-root', true)[1];
      expect(fs).toMatchObject({
        area: 'state root filesystem',
        status: 'warn',
        found: expect.stringMatching(
          /^tmpfs, .* free: kept containers, their logs and imported images are lost at reboot$/,
        ),
      });
    },
  );
});

describe("stale containers: dead, and kept when they are the user's", () => {
  const dead = 2 ** 22 + 1; // above pid_max's default ceiling: no such process
  const entry = (state: Entry['state'], autoRemove = false): Entry => ({
    id: 'f'.repeat(64),
    dir: '/nonexistent',
    state,
    config: { id: 'f'.repeat(64), created: '', detached: true, autoRemove, spec: {} as never },
  });

  it('a running container whose monitor is gone: dead, with the reason, and kept unless --rm', () => {
    const ran = {
      status: 'running' as const,
      monitorPid: dead,
      monitorStart: 1,
      startedAt: '2026-01-01T00:00:00Z',
      bootId: bootId(),
    };
    expect(staleReason(entry(ran))).toBe(`its monitor (pid ${dead}) is gone; exit status unknown`);
    expect(effectiveStatus(entry(ran))).toBe('dead');
    expect(isKept(entry(ran))).toBe(true);
    expect(isKept(entry(ran, true))).toBe(false); // --rm: garbage once dead
    expect(isKept(entry({ ...ran, autoRemove: true }))).toBe(false);
  });

  it('a launch that died before the container ran is garbage; recorded dead and exited ones are complete', () => {
    const launching = { status: 'created' as const, launcherPid: dead, launcherStart: 1, bootId: bootId() };
    expect(staleReason(entry(launching))).toBe(`the minidock that launched it (pid ${dead}) is gone`);
    expect(isKept(entry(launching))).toBe(false);
    expect(staleReason(entry({ status: 'dead', error: 'x', startedAt: 'y' }))).toBeUndefined();
    expect(effectiveStatus(entry({ status: 'dead', error: 'x' }))).toBe('dead');
    expect(staleReason(entry({ status: 'exited', exitCode: 0 }))).toBeUndefined();
    expect(
      staleReason(entry({ status: 'running', monitorPid: process.pid, bootId: 'another boot', startedAt: 'y' })),
    ).toBe('left from an earlier boot');
  });
});
