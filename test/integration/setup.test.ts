// `npm run build` puts `minidock` on PATH (scripts/install-path.sh): plain `minidock` works from any
// directory, without npx, as the README, the lessons and the demo write it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readlinkSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT_DIR, ROOTFS, skipReason, canRun } from '../helpers';

const SCRIPT = join(ROOT_DIR, 'scripts', 'install-path.sh');

describe.skipIf(!canRun)(`minidock on PATH${canRun ? '' : ` (skipped: ${skipReason})`}`, () => {
  it("after the build, `minidock` on root's PATH is this checkout's bin/minidock.js, and runs a container from /", () => {
    // The build's last step, again: another checkout's build on this machine may have taken the link
    // since (.ci/run proves the build itself did it, by calling plain `minidock` right after the demo).
    expect(spawnSync('bash', [SCRIPT]).status).toBe(0);
    const which = spawnSync('sh', ['-c', 'command -v minidock'], {
      encoding: 'utf8',
      env: { ...process.env, PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
    });
    expect(which.stdout.trim()).toBe('/usr/local/bin/minidock');
    expect(realpathSync(which.stdout.trim())).toBe(realpathSync(BIN));
    const root = mkdtempSync(join(tmpdir(), 'minidock-path-'));
    try {
      const r = spawnSync('minidock', ['run', '--rm', ROOTFS, '/bin/echo', 'from PATH'], {
        cwd: '/',
        encoding: 'utf8',
        env: { ...process.env, MINIDOCK_ROOT: join(root, 'state'), PATH: '/usr/local/bin:/usr/bin:/bin' },
      });
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('from PATH\n');
      expect(r.status).toBe(0);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('install-path.sh is idempotent: a second run changes nothing and says nothing', () => {
    // the first run settles the link (another checkout's build on this machine may have taken it)
    expect(spawnSync('bash', [SCRIPT]).status).toBe(0);
    const before = readlinkSync('/usr/local/bin/minidock');
    expect(realpathSync(before)).toBe(realpathSync(BIN));
    const r = spawnSync('bash', [SCRIPT], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(readlinkSync('/usr/local/bin/minidock')).toBe(before);
  });

  it('as a user with ~/.local/bin on PATH: links ~/.local/bin/minidock and says so; without it on PATH: says what to do, links nothing', () => {
    const home = mkdtempSync(join(tmpdir(), 'minidock-home-'));
    try {
      // The script's only root/user difference is the directory; run its user branch as root by
      // faking nothing but id -u: a wrapper on PATH answers 1000.
      const fakeBin = join(home, 'fakebin');
      spawnSync('sh', [
        '-c',
        `mkdir -p ${fakeBin} && printf '#!/bin/sh\\necho 1000\\n' > ${fakeBin}/id && chmod +x ${fakeBin}/id`,
      ]);
      const off = spawnSync('bash', [SCRIPT], {
        encoding: 'utf8',
        env: { ...process.env, HOME: home, PATH: `${fakeBin}:/usr/bin:/bin` },
      });
      expect(off.status).toBe(0);
      expect(off.stderr).toMatch(/sudo npm run build|add .*\.local\/bin to PATH/);
      expect(spawnSync('test', ['-e', join(home, '.local/bin/minidock')]).status).not.toBe(0);
      const on = spawnSync('bash', [SCRIPT], {
        encoding: 'utf8',
        env: { ...process.env, HOME: home, PATH: `${fakeBin}:${home}/.local/bin:/usr/bin:/bin` },
      });
      expect(on.status).toBe(0);
      expect(on.stderr).toMatch(/minidock is on PATH/);
      expect(realpathSync(join(home, '.local/bin/minidock'))).toBe(realpathSync(BIN));
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
