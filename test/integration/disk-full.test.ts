// A state root on a filesystem that cannot take a write: full (a tmpfs with size=, filled by the
// test or by the container itself) or read-only (an ext4 image on a loop device, remounted ro).
// Every such refusal is one line naming the file, the space left and what to do, exit 125; the
// container's own exit code still comes back when the container ran; nothing half-made is left.
// Each test unmounts what it mounted, whatever happens (finally).
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  openSync,
  writeSync,
  closeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ROOTFS,
  canRun,
  hostSnapshot,
  minidock,
  pidsMatching,
  removeStateRoot,
  skipReason,
  waitFor,
  type Result,
} from '../helpers';

const hasMkfs = spawnSync('mkfs.ext4', ['-V']).status === 0;
const d = canRun ? describe : describe.skip;
if (!canRun) console.warn(`SKIPPED test/integration/disk-full.test.ts: ${skipReason}`);

/** One line, minidock's, no stack trace. */
function oneLine(r: Result, what: string): string {
  expect(r.stderr, what).not.toMatch(/internal error|\n\s+at /);
  const lines = r.stderr.split('\n').filter(Boolean);
  expect(lines, what).toHaveLength(1);
  expect(lines[0], what).toMatch(/^minidock: /);
  return lines[0];
}

const mounted: string[] = [];
/** A tmpfs of `size` at a fresh directory; the state root is <mnt>/<its name>, so that the
 * helpers' cgroup parent is this test's own. */
function tmpfsRoot(size: string): { mnt: string; root: string } {
  const mnt = mkdtempSync(join(tmpdir(), 'minidock-test-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', mnt]);
  mounted.push(mnt);
  return { mnt, root: join(mnt, basename(mnt)) };
}

/** Write zeros into <mnt>/fill until the filesystem says ENOSPC. */
function fill(mnt: string): void {
  const fd = openSync(join(mnt, 'fill'), 'w');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (e) {
    expect((e as NodeJS.ErrnoException).code).toBe('ENOSPC');
  } finally {
    closeSync(fd);
  }
}

/** Remove the state root (and its cgroup parent), then unmount; removes the mount point too. */
function unmount(mnt: string, root: string): void {
  try {
    removeStateRoot(root); // its cgroup parent; the files go with the filesystem anyway (it may be read-only)
  } catch {
    /* EROFS */
  } finally {
    spawnSync('umount', [mnt]);
    if (spawnSync('mountpoint', ['-q', mnt]).status === 0) spawnSync('umount', ['-l', mnt]);
    rmSync(mnt, { recursive: true, force: true });
    mounted.splice(mounted.indexOf(mnt), 1);
  }
}

/** What a failed launch must not leave: container or staging directories, names, scratch, monitors. */
function nothingLeft(root: string, before: ReturnType<typeof hostSnapshot>, what: string): void {
  expect(hostSnapshot(root), what).toEqual(before);
  const ls = (p: string): string[] => (existsSync(p) ? readdirSync(p) : []);
  expect(ls(join(root, 'containers')), what).toEqual([]);
  expect(ls(join(root, 'names')), what).toEqual([]);
  expect(ls(join(root, 'tmp')), what).toEqual([]);
  expect(pidsMatching(root, 'minidock-monit'), what).toEqual([]);
}

/** A 3 MiB rootfs tar (one file of random bytes) made outside the filesystem under test. */
function bigTar(): string {
  const dir = mkdtempSync(join(tmpdir(), 'minidock-disk-full-tar-'));
  mkdirSync(join(dir, 'tree'));
  writeFileSync(join(dir, 'tree', 'big'), Buffer.alloc(3 << 20, 7));
  execFileSync('tar', ['-C', join(dir, 'tree'), '-cf', join(dir, 'big.tar'), '.']);
  return join(dir, 'big.tar');
}

d('a full or read-only state root (real CLI, real filesystems)', () => {
  const tars: string[] = [];
  afterAll(() => {
    for (const m of [...mounted]) unmount(m, join(m, basename(m))); // a failed test's mount
    for (const t of tars) rmSync(join(t, '..'), { recursive: true, force: true });
  });

  it('a full tmpfs: run, run --rm, run -d, run -d --name and import each say which file, how much space is left, what to do; exit 125, nothing left', () => {
    const { mnt, root } = tmpfsRoot('1m');
    try {
      mkdirSync(root, { mode: 0o711 }); // the mode minidock gives a root it makes
      fill(mnt);
      const tar = bigTar();
      tars.push(tar);
      const before = hostSnapshot(root);
      for (const args of [
        ['run', ROOTFS, 'true'],
        ['run', '--rm', ROOTFS, 'true'],
        ['run', '-d', ROOTFS, 'true'],
        ['run', '-d', '--name', 'full', ROOTFS, 'true'],
        ['import', tar, 'big'],
      ]) {
        const r = minidock(args, { root });
        const what = args.slice(0, 3).join(' ');
        expect(r.code, `${what}: ${r.stderr}`).toBe(125);
        expect(oneLine(r, what)).toMatch(
          new RegExp(
            `^minidock: cannot write ${root}/\\S+: no space left on device \\(ENOSPC; 0\\.0 MiB free of 1\\.0 MiB there\\) — free some space .*, or choose another state root`,
          ),
        );
        nothingLeft(root, before, what);
      }
    } finally {
      unmount(mnt, root);
    }
  });

  it('import of a layer larger than the space left: the unpacking stops with one line naming the file, and its scratch is removed', () => {
    const { mnt, root } = tmpfsRoot('2m');
    try {
      const tar = bigTar();
      tars.push(tar);
      const before = hostSnapshot(root);
      const r = minidock(['import', tar, 'big'], { root });
      expect(r.code, r.stderr).toBe(125);
      expect(oneLine(r, 'import')).toMatch(
        new RegExp(
          `^minidock: cannot write ${root}/tmp/import-\\S+/fs/big: no space left on device \\(ENOSPC; \\d+\\.\\d MiB free of 2\\.0 MiB there\\)`,
        ),
      );
      nothingLeft(root, before, 'import');
      expect(existsSync(join(root, 'layers', 'sha256')) ? readdirSync(join(root, 'layers', 'sha256')) : []).toEqual([]);
      expect(minidock(['images', '-q'], { root }).stdout).toBe('');
    } finally {
      unmount(mnt, root);
    }
  });

  // The container fills its own upper layer (on the state root's filesystem), then exits 3.
  const FILL = 'dd if=/dev/zero of=/big bs=64k 2>/dev/null';

  it('a container that fills the disk and exits 3: run exits 3 (the exit recorded, or a warning line), kept until rm; with --rm nothing stays', () => {
    const { mnt, root } = tmpfsRoot('16m');
    try {
      mkdirSync(root, { mode: 0o711 }); // the mode minidock gives a root it makes
      const before = hostSnapshot(root);
      const r = minidock(['run', '--name', 'filler', ROOTFS, 'sh', '-c', `${FILL}; echo full; exit 3`], { root });
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
      expect(r.code, r.stderr).toBe(3);
      expect(r.stdout).toBe('full\n');
      const inspect = JSON.parse(minidock(['inspect', 'filler'], { root }).stdout)[0];
      if (r.stderr === '') {
        // the usual case on tmpfs: the exit went into state.json's own block (written in place)
        console.log('disk-full: the foreground exit was recorded on the full tmpfs (state.json written in place)');
        expect(inspect.State.Status).toBe('exited');
        expect(inspect.State.ExitCode).toBe(3);
      } else {
        console.log('disk-full: the foreground exit could not be recorded: warning line checked');
        expect(oneLine(r, 'run')).toMatch(
          /^minidock: warning: the container exited with 3, but its exit could not be recorded: cannot write .*state\.json: no space left on device/,
        );
        expect(inspect.State.Status).toBe('dead');
      }
      const c = readdirSync(join(root, 'containers'));
      expect(c).toHaveLength(1);
      expect(readdirSync(join(root, 'containers', c[0])).filter((f) => f.endsWith('.tmp'))).toEqual([]); // no temp file left
      const rm = minidock(['rm', 'filler'], { root });
      expect(rm.code, rm.stderr).toBe(0);
      expect(hostSnapshot(root)).toEqual(before);

      const rr = minidock(['run', '--rm', ROOTFS, 'sh', '-c', `${FILL}; exit 3`], { root });
      expect(rr.stderr).toBe('');
      expect(rr.code).toBe(3);
      nothingLeft(root, before, 'run --rm');
    } finally {
      unmount(mnt, root);
    }
  });

  it('run -d: a container that fills the disk and exits 3 keeps its exit code and what its log got before the disk was full; logError says what was lost', async () => {
    const { mnt, root } = tmpfsRoot('16m');
    // the container waits for the test's go (a file in a volume outside the tmpfs) once "before"
    // is in its log, so that the line is logged before the disk fills, whatever the timing
    const ctl = mkdtempSync(join(tmpdir(), 'minidock-disk-full-ctl-'));
    try {
      mkdirSync(root, { mode: 0o711 }); // the mode minidock gives a root it makes
      const before = hostSnapshot(root);
      const r = minidock(
        [
          'run',
          '-d',
          '--name',
          'dfill',
          '-v',
          `${ctl}:/ctl`,
          ROOTFS,
          'sh',
          '-c',
          `echo before; while [ ! -e /ctl/go ]; do sleep 0.05; done; ${FILL}; seq 1 5000; exit 3`,
        ],
        { root },
      );
      expect(r.code, r.stderr).toBe(0);
      const id = r.stdout.trim();
      await waitFor(() => minidock(['logs', 'dfill'], { root }).stdout === 'before\n', 10_000, '"before" in the log');
      writeFileSync(join(ctl, 'go'), '');
      const w = minidock(['wait', 'dfill'], { root });
      expect(w.stdout, w.stderr).toBe('3\n');
      const inspect = JSON.parse(minidock(['inspect', 'dfill'], { root }).stdout)[0];
      expect(inspect.State.Status).toBe('exited');
      expect(inspect.State.ExitCode).toBe(3);
      // the log holds whole lines only: what was written before the disk filled
      const logs = minidock(['logs', 'dfill'], { root });
      expect(logs.stdout.startsWith('before\n')).toBe(true);
      expect(logs.stdout).not.toContain('5000\n'); // 5000 lines of seq do not fit in the log's last page
      const logText = readFileSync(join(root, 'containers', id, 'container.log'), 'utf8');
      expect(logText.endsWith('\n')).toBe(true);
      for (const line of logText.split('\n').filter(Boolean)) JSON.parse(line);
      const state = JSON.parse(readFileSync(join(root, 'containers', id, 'state.json'), 'utf8'));
      expect(state.logError).toMatch(
        /^container\.log: No space left on device \(ENOSPC\) after \d+ bytes; \d+ bytes of output were not logged$/,
      );
      expect(readdirSync(join(root, 'containers', id)).filter((f) => f.includes('.tmp'))).toEqual([]);
      expect(minidock(['rm', 'dfill'], { root }).code).toBe(0);
      expect(hostSnapshot(root)).toEqual(before);

      // -d --rm: the monitor removes everything, full disk or not
      const rr = minidock(['run', '-d', '--rm', ROOTFS, 'sh', '-c', `${FILL}; seq 1 5000; exit 3`], { root });
      expect(rr.code, rr.stderr).toBe(0);
      await waitFor(() => readdirSync(join(root, 'containers')).length === 0, 10_000, 'the --rm container to go');
      await waitFor(() => pidsMatching(root, 'minidock-monit').length === 0, 5_000, 'its monitor to exit');
      nothingLeft(root, before, 'run -d --rm');
    } finally {
      rmSync(ctl, { recursive: true, force: true });
      unmount(mnt, root);
    }
  });

  it.skipIf(!hasMkfs)(
    `a read-only ext4 state root (loop device, remount,ro)${hasMkfs ? '' : ' — SKIPPED: no mkfs.ext4'}: run, run -d, run -d --name, import say EROFS in one line; the kept container is still listed`,
    () => {
      const mnt = mkdtempSync(join(tmpdir(), 'minidock-test-'));
      const img = `${mnt}.img`;
      const root = join(mnt, basename(mnt));
      execFileSync('truncate', ['-s', '32M', img]);
      execFileSync('mkfs.ext4', ['-q', '-F', img]);
      execFileSync('mount', ['-o', 'loop', img, mnt]); // the loop device is detached again at umount (autoclear)
      mounted.push(mnt);
      try {
        const kept = minidock(['run', '--name', 'kept', ROOTFS, 'sh', '-c', 'echo hi > /f; exit 4'], { root });
        expect(kept.code, kept.stderr).toBe(4);
        const tar = bigTar();
        tars.push(tar);
        execFileSync('mount', ['-o', 'remount,ro', mnt]);
        const before = hostSnapshot(root);
        for (const args of [
          ['run', ROOTFS, 'true'],
          ['run', '-d', ROOTFS, 'true'],
          ['run', '-d', '--name', 'ro', ROOTFS, 'true'],
          ['import', tar, 'big'],
        ]) {
          const r = minidock(args, { root });
          const what = args.slice(0, 3).join(' ');
          expect(r.code, `${what}: ${r.stderr}`).toBe(125);
          expect(oneLine(r, what)).toMatch(
            new RegExp(
              `^minidock: cannot write ${root}/\\S+: read-only file system \\(EROFS; \\d+\\.\\d MiB free of \\d+\\.\\d MiB there\\) — remount it read-write`,
            ),
          );
          expect(hostSnapshot(root), what).toEqual(before);
        }
        const ps = minidock(['ps', '-a'], { root });
        expect(ps.stdout).toMatch(/Exited \(4\).*kept/);
        execFileSync('mount', ['-o', 'remount,rw', mnt]);
        expect(minidock(['rm', 'kept'], { root }).code).toBe(0);
        expect(readdirSync(join(root, 'containers'))).toEqual([]);
      } finally {
        try {
          unmount(mnt, root);
        } finally {
          rmSync(img, { force: true });
        }
      }
    },
  );
});
