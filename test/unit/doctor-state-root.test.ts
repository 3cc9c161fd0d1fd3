// doctor's verdict on the state root's filesystem, every case with made-up filesystems (pure), and
// checkStateRoot on this machine's own tmpfs and root, whatever they hold.
import { describe, expect, it } from 'vitest';
import { statfsSync } from 'node:fs';
import { checkStateRoot, filesystemVerdict } from '../../src/bench/doctor.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe('doctor: the state root filesystem', () => {
  it('a network or FUSE filesystem fails: overlayfs cannot put an upper layer there', () => {
    for (const type of ['nfs', 'cifs', 'smb2', 'fuse'])
      expect(filesystemVerdict(type, 50 * GiB, '/srv')).toEqual({
        status: 'fail',
        found: `${type}, 50.0 GiB free: overlayfs cannot put a container's upper layer there`,
        fix: 'choose another state root (--root DIR or MINIDOCK_ROOT) on a local filesystem (ext4, xfs, btrfs)',
      });
  });

  it('under 100 MiB free fails, whatever the filesystem; under 1 GiB warns', () => {
    expect(filesystemVerdict('ext4', 99 * MiB, '/var')).toEqual({
      status: 'fail',
      found: 'ext4, only 99 MiB free',
      fix: 'free space on the filesystem of /var, or choose another state root (--root DIR or MINIDOCK_ROOT)',
    });
    expect(filesystemVerdict('tmpfs', 10 * MiB, '/run').status).toBe('fail');
    expect(filesystemVerdict('xfs', 500 * MiB, '/var')).toEqual({
      status: 'warn',
      found: 'xfs, 500 MiB free',
      fix: "images and containers' writes need room: free space on the filesystem of /var, or choose another state root (--root DIR or MINIDOCK_ROOT)",
    });
  });

  it('overlayfs and tmpfs warn, each saying what is lost; a roomy disk is ok with no fix', () => {
    expect(filesystemVerdict('overlayfs', 2 * GiB, '/')).toMatchObject({
      status: 'warn',
      found: expect.stringMatching(/^overlayfs, 2\.0 GiB free: overlayfs refuses an upper layer on overlayfs/),
    });
    expect(filesystemVerdict('tmpfs', 2 * GiB, '/dev/shm')).toMatchObject({
      status: 'warn',
      found: 'tmpfs, 2.0 GiB free: kept containers, their logs and imported images are lost at reboot',
    });
    const ok = filesystemVerdict('btrfs', 5 * GiB, '/var');
    expect(ok).toEqual({ status: 'ok', found: 'btrfs, 5.0 GiB free', fix: undefined });
  });
});

describe('doctor: checkStateRoot on this machine', () => {
  const shm = (() => {
    try {
      return statfsSync('/dev/shm').type === 0x01021994;
    } catch {
      return false;
    }
  })();
  it.skipIf(!shm)(
    `a missing root on /dev/shm: created in /dev/shm, on tmpfs${shm ? '' : ' (SKIPPED: /dev/shm is not a tmpfs here)'}`,
    () => {
      const [place, fs] = checkStateRoot('/dev/shm/minidock-doctor-unit/x', true);
      expect(place).toEqual({
        area: 'state root',
        status: 'ok',
        found:
          '/dev/shm/minidock-doctor-unit/x does not exist yet: the first run or import creates it (mode 0711) in /dev/shm',
      });
      expect(fs.area).toBe('state root filesystem');
      expect(fs.found).toMatch(/^tmpfs, /);
    },
  );

  it('the place is checked, then the filesystem: two checks in that order', () => {
    expect(checkStateRoot('/', true).map((c) => c.area)).toEqual(['state root', 'state root filesystem']);
  });
});
