// Issue 19 on the real kernel, as root, through the CLI: a named volume's copy-up (an empty volume
// over /etc of ./rootfs shows the rootfs's files; a second container sees the first one's changes,
// nothing copied again; nocopy leaves it empty; from an image: owners, modes, a symlink kept as a
// link, a whiteout's file absent, an xattr, the mount target resolved through the image's symlink),
// image labels (kept by import, a container's --label over the image's, ps/images --filter label=,
// commit --change LABEL), and gc's events (the die nobody journaled and the destroy of what it
// removed). useLeakCheckedRoot compares mounts, cgroups and container directories around each test;
// each test removes its volumes and checks none is left.
import { execFileSync, spawnSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  canRun,
  minidock,
  pidsMatching,
  removeStateRoot,
  ROOTFS,
  skipReason,
  useLeakCheckedRoot,
  waitFor,
} from '../helpers';
import { dockerArchiveMembers, type FixtureConfig, makeTar } from '../unit/image-fixtures';

const hasPython = spawnSync('python3', ['-c', 'import os; os.getxattr'], { stdio: 'ignore' }).status === 0;

describe.skipIf(!canRun)(`volume copy-up, image labels, gc events${canRun ? '' : ` (skipped: ${skipReason})`}`, () => {
  let root = '';
  let tarFile = '';
  useLeakCheckedRoot((r) => (root = r));
  const md = (args: string[]) => minidock(args, { root });
  const ok = (args: string[]): string => {
    const r = md(args);
    expect(r.stderr, `minidock ${args.join(' ')}`).toBe('');
    expect(r.code, `minidock ${args.join(' ')}`).toBe(0);
    return r.stdout;
  };
  const volumes = (): string[] => {
    try {
      return readdirSync(join(root, 'volumes')).sort();
    } catch {
      return [];
    }
  };
  const data = (v: string, ...p: string[]): string => join(root, 'volumes', v, '_data', ...p);
  const record = (v: string) => JSON.parse(readFileSync(join(root, 'volumes', v, 'volume.json'), 'utf8'));

  beforeAll(() => {
    // the busybox rootfs as a first layer, with a /data the image prepared (GNU tar's end blocks cut)
    let base = execFileSync('tar', ['-C', ROOTFS, '--numeric-owner', '-cf', '-', '.'], { maxBuffer: 1 << 28 });
    while (base.length >= 512 && base.subarray(base.length - 512).every((b) => b === 0))
      base = base.subarray(0, base.length - 512);
    const layer1 = Buffer.concat([
      base,
      makeTar([
        { path: 'data', type: 'Directory', mode: 0o750, uid: 1000, gid: 1000 },
        {
          path: 'data/owned',
          body: 'the image wrote this\n',
          mode: 0o640,
          uid: 1000,
          gid: 1001,
          xattrs: { 'user.note': 'kept' },
        },
        { path: 'data/link', type: 'SymbolicLink', linkpath: '/etc/passwd' },
        { path: 'data/gone', body: 'deleted by the next layer\n' },
        { path: 'data/sub', type: 'Directory', mode: 0o700, uid: 1000, gid: 1000 },
        { path: 'data/sub/deep', body: 'deep\n', mode: 0o600, uid: 1000, gid: 1000 },
        { path: 'srv', type: 'SymbolicLink', linkpath: '/data' },
      ]),
    ]);
    const layer2 = makeTar([
      { path: 'data', type: 'Directory', mode: 0o750, uid: 1000, gid: 1000 },
      { path: 'data/.wh.gone', body: '' },
      { path: 'data/added', body: 'from the top layer\n' },
    ]);
    const cfg = {
      Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'],
      Cmd: ['sh'],
      Labels: { 'org.example.team': 'blue', tier: 'image' },
    } as FixtureConfig; // (Labels: a field the fixtures' type does not list)
    tarFile = join(root, '..', `${root.split('/').pop()}-labels.tar`);
    writeFileSync(tarFile, makeTar(dockerArchiveMembers([layer1, layer2], cfg, 'lbl:1')));
    const imp = md(['import', tarFile, 'lbl:1']);
    expect(imp.code, imp.stderr).toBe(0);
  });
  afterAll(() => {
    rmSync(tarFile, { force: true });
    md(['rmi', 'lbl:1']);
  });

  it("an empty volume over /etc of ./rootfs shows the rootfs's files; a second container sees the first's changes, no second copy; nocopy leaves it empty", () => {
    const first = ok([
      'run',
      '--rm',
      '-v',
      'etcv:/etc',
      ROOTFS,
      'sh',
      '-c',
      'head -1 /etc/passwd; echo mine > /etc/new; rm /etc/group',
    ]);
    expect(first).toBe(`${readFileSync(join(ROOTFS, 'etc/passwd'), 'utf8').split('\n')[0]}\n`);
    expect(record('etcv').populated).toMatchObject({ path: '/etc' });
    const second = ok([
      'run',
      '--rm',
      '--mount',
      'type=volume,source=etcv,target=/etc',
      ROOTFS,
      'sh',
      '-c',
      'cat /etc/new; ls /etc',
    ]);
    // the first one's file is there and /etc/group, which it removed, was not copied again
    expect(second.split('\n')[0]).toBe('mine');
    expect(second.split('\n').slice(1)).not.toContain('group');
    expect(second.split('\n').slice(1)).toContain('passwd');
    // nocopy, both spellings: the new volume stays empty
    expect(ok(['run', '--rm', '-v', 'empty1:/etc:nocopy', ROOTFS, '/bin/ls', '-A', '/etc'])).toBe('');
    expect(
      ok(['run', '--rm', '--mount', 'type=volume,src=empty2,dst=/etc,volume-nocopy', ROOTFS, '/bin/ls', '-A', '/etc']),
    ).toBe('');
    expect(readdirSync(data('empty1'))).toEqual([]);
    expect(record('empty2').populated).toBeUndefined();
    // a bind mount never copies; a nocopy bind is refused as Docker refuses it
    const bind = md(['run', '--rm', '--mount', `type=bind,source=${root},target=/etc,volume-nocopy`, ROOTFS, 'true']);
    expect(bind.code).toBe(125);
    expect(bind.stderr).toMatch(/^minidock: --mount .*: volume-nocopy is an option of type=volume\n$/);
    expect(md(['run', '--rm', '-v', 'x:/etc:rx', ROOTFS, 'true']).stderr).toMatch(
      /unknown option "rx", use ro, rw or nocopy\n$/,
    );
    expect(ok(['volume', 'rm', 'etcv', 'empty1', 'empty2'])).toBe('etcv\nempty1\nempty2\n');
    expect(volumes()).toEqual([]);
  });

  it('a copy that cannot finish (a full disk): one line, exit 125, no container, no volume, nothing half-copied', () => {
    const small = mkdtempSync(join(tmpdir(), 'minidock-test-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=700', 'tmpfs', small]);
    try {
      // busybox's /bin (a few MiB, hard links copied as files) cannot fit
      const r = minidock(['run', '--rm', '-v', 'binv:/bin', ROOTFS, 'true'], { root: small });
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(
        /^minidock: volume binv: copying the image's \/bin into it failed \(ENOSPC\) — free space on the state root's filesystem \(.*\), or mount it empty with -v binv:\/bin:nocopy\n$/,
      );
      expect(readdirSync(join(small, 'containers'))).toEqual([]);
      expect(readdirSync(join(small, 'volumes')).filter((n) => !n.startsWith('.'))).toEqual([]);
      // a volume of volume create is emptied again and kept; a launch that fits fills it
      expect(minidock(['volume', 'create', 'made'], { root: small }).code).toBe(0);
      expect(minidock(['run', '--rm', '-v', 'made:/bin', ROOTFS, 'true'], { root: small }).code).toBe(125);
      expect(readdirSync(join(small, 'volumes', 'made', '_data'))).toEqual([]);
      expect(minidock(['run', '--rm', '-v', 'made:/etc', ROOTFS, 'cat', '/etc/hostname'], { root: small }).code).toBe(
        0,
      );
      expect(readdirSync(join(small, 'volumes', 'made', '_data'))).toContain('passwd');
    } finally {
      execFileSync('umount', [small]);
      removeStateRoot(small);
    }
  });

  it("from an image's layers: owners, modes, a symlink kept as a link, no whited-out file, xattrs; the target through the image's symlink", () => {
    const out = ok(['run', '--rm', '-v', 'datav:/srv', 'lbl:1', 'sh', '-c', 'ls -A /srv; cat /srv/owned']);
    // /srv -> /data in the image: the volume is mounted on, and filled from, the image's /data
    expect(out).toBe('added\nlink\nowned\nsub\nthe image wrote this\n');
    expect(record('datav').populated).toMatchObject({ path: '/data' });
    const st = (p: string) => {
      const s = lstatSync(p);
      return `${s.uid}:${s.gid} ${(s.mode & 0o7777).toString(8)}`;
    };
    expect(st(data('datav'))).toBe('1000:1000 750'); // the volume itself: the image directory's owner and mode
    expect(st(data('datav', 'owned'))).toBe('1000:1001 640');
    expect(st(data('datav', 'sub'))).toBe('1000:1000 700');
    expect(st(data('datav', 'sub', 'deep'))).toBe('1000:1000 600');
    expect(lstatSync(data('datav', 'link')).isSymbolicLink()).toBe(true); // copied as a link, never followed
    expect(readlinkSync(data('datav', 'link'))).toBe('/etc/passwd');
    expect(readdirSync(data('datav'))).not.toContain('gone');
    if (hasPython) {
      const x = execFileSync(
        'python3',
        ['-c', 'import os,sys; print(os.getxattr(sys.argv[1], "user.note").decode())', data('datav', 'owned')],
        { encoding: 'utf8' },
      );
      expect(x).toBe('kept\n');
    } else console.warn('xattr check skipped: no python3 with os.getxattr');
    expect(ok(['volume', 'rm', 'datav'])).toBe('datav\n');
    expect(volumes()).toEqual([]);
  });

  it("image labels: import keeps them, a container's --label wins, ps and images filter by them, commit --change LABEL", () => {
    expect(JSON.parse(ok(['image', 'inspect', 'lbl:1']))[0].Config.Labels).toEqual({
      'org.example.team': 'blue',
      tier: 'image',
    });
    ok(['run', '-d', '--name', 'lab', '--label', 'tier=mine', 'lbl:1', 'sleep', '3696']);
    try {
      expect(JSON.parse(ok(['inspect', 'lab']))[0].Config.Labels).toEqual({ 'org.example.team': 'blue', tier: 'mine' });
      expect(ok(['ps', '-q', '--filter', 'label=org.example.team=blue']).trim()).not.toBe('');
      expect(ok(['ps', '-q', '--filter', 'label=tier=image'])).toBe('');
      const bad = md(['commit', '--change', 'CMD ["sh"]', 'lab', 'lbl:2']);
      expect(bad.code).toBe(125);
      expect(bad.stderr).toMatch(/^minidock: commit --change .*: minidock's commit takes LABEL only/);
      ok(['commit', '--change', 'LABEL version="1.0" tier=committed', 'lab', 'lbl:2']);
    } finally {
      expect(md(['rm', '-f', 'lab']).code).toBe(0);
    }
    expect(JSON.parse(ok(['image', 'inspect', 'lbl:2']))[0].Config.Labels).toEqual({
      'org.example.team': 'blue',
      tier: 'committed',
      version: '1.0',
    });
    const names = (filters: string[]) =>
      ok(['images', ...filters.flatMap((f) => ['--filter', f])])
        .split('\n')
        .slice(1)
        .filter(Boolean)
        .map((l) => l.split(/\s+/).slice(0, 2).join(':'));
    expect(names(['label=version=1.0'])).toEqual(['lbl:2']);
    expect(names(['label=org.example.team']).sort()).toEqual(['lbl:1', 'lbl:2']);
    expect(names(['label=org.example.team', 'label=tier=image'])).toEqual(['lbl:1']);
    expect(md(['images', '--filter', 'dangling=true']).stderr).toMatch(
      /^minidock: images --filter dangling=true: use label=KEY/,
    );
    expect(ok(['run', '--rm', '--label', 'x=1', 'lbl:2', 'true'])).toBe('');
    expect(md(['rmi', 'lbl:2']).code).toBe(0);
  });

  it('gc journals the die nobody wrote (monitor SIGKILLed) and the destroy of what it removes', async () => {
    const since = String(Date.now() / 1000);
    const kept = ok(['run', '-d', '--name', 'gck', ROOTFS, 'sleep', '3695']).trim();
    const gone = ok(['run', '-d', '--rm', '--name', 'gcr', ROOTFS, 'sleep', '3694']).trim();
    const monitor = (id: string) =>
      JSON.parse(readFileSync(join(root, 'containers', id, 'state.json'), 'utf8')).monitorPid;
    process.kill(monitor(kept), 'SIGKILL');
    process.kill(monitor(gone), 'SIGKILL');
    await waitFor(
      () => pidsMatching('sleep 369', 'sleep').length === 0,
      5000,
      'the containers to die with their monitors',
    );
    const events = () =>
      ok(['events', '--since', since, '--until', '0s', '--format', 'json'])
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { Action: string; id: string; Actor: { Attributes: Record<string, string> } });
    const of = (id: string) =>
      events()
        .filter((e) => e.id === id)
        .map((e) => e.Action);
    expect(of(kept)).toEqual(['create', 'start']); // nobody journaled their end
    expect(ok(['gc'])).toMatch(/^dead .*\(gck\)/m);
    expect(of(kept)).toEqual(['create', 'start', 'die']);
    expect(of(gone)).toEqual(['create', 'start', 'die', 'destroy']);
    expect(events().find((e) => e.id === kept && e.Action === 'die')!.Actor.Attributes).toMatchObject({
      name: 'gck',
      image: ROOTFS,
    });
    expect(ok(['gc'])).toBe('nothing to collect\n');
    expect(of(kept)).toEqual(['create', 'start', 'die']); // nothing twice
    ok(['rm', 'gck']);
    expect(of(kept)).toEqual(['create', 'start', 'die', 'destroy']);
  });
});
