// storageError: the one line for a write the state root's filesystem refused for good. The real
// ENOSPC and EROFS cases run in test/integration/disk-full.test.ts; EDQUOT and EIO need quotas or a
// failing disk, so their text is checked here.
import { describe, expect, it } from 'vitest';
import { MinidockError } from '../../src/errors';
import { storageError, storageMessage } from '../../src/runtime/state-root';

const errno = (code: string, path?: string): NodeJS.ErrnoException => Object.assign(new Error(code), { code, path });
const room = { free: 3 * 1048576, size: 64 * 1048576 };

describe('storageError / storageMessage', () => {
  it('each errno names the file, the space left and what to do', () => {
    expect(storageMessage('ENOSPC', '/r/containers/x/state.json', { free: 0, size: 1048576 })).toBe(
      'cannot write /r/containers/x/state.json: no space left on device (ENOSPC; 0.0 MiB free of 1.0 MiB there) — free some space ' +
        '(minidock rm or prune for containers, minidock rmi for images), or choose another state root (--root DIR or MINIDOCK_ROOT; minidock doctor checks it)',
    );
    expect(storageMessage('EDQUOT', '/r/f', room)).toMatch(
      /^cannot write \/r\/f: disk quota exceeded \(the filesystem may have room, this user's quota has none\) \(EDQUOT; 3\.0 MiB free of 64\.0 MiB there\) — free some of this user's files or raise the quota, or choose another state root/,
    );
    expect(storageMessage('EROFS', '/r/f', room)).toMatch(
      /read-only file system \(EROFS; .*\) — remount it read-write \(mount -o remount,rw\)/,
    );
    expect(storageMessage('EIO', '/r/f', room)).toMatch(
      /input\/output error: the disk or the filesystem is failing \(see dmesg\) \(EIO; .*\) — check the disk/,
    );
  });

  it("maps only those four; the file is Node's own path when its error has one", () => {
    for (const code of ['ENOSPC', 'EDQUOT', 'EROFS', 'EIO']) {
      const e = storageError(errno(code, '/nonexistent/a/b'), '/elsewhere');
      expect(e).toBeInstanceOf(MinidockError);
      expect((e as MinidockError).code).toBe(125);
      expect((e as MinidockError).message).toMatch(/^cannot write \/nonexistent\/a\/b: /);
      expect((e as MinidockError).message).not.toContain('\n');
    }
    expect((storageError(errno('ENOSPC'), '/x/y') as Error).message).toMatch(/^cannot write \/x\/y: .*MiB free of/); // statfs of the nearest existing parent (/)
    for (const code of ['EACCES', 'ENOENT', 'EEXIST']) {
      const e = errno(code);
      expect(storageError(e, '/x')).toBe(e);
    }
    const plain = new Error('not a filesystem error');
    expect(storageError(plain, '/x')).toBe(plain);
  });
});
