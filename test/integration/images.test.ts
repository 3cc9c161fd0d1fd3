// Images against the real kernel, as root: import (Docker archive, OCI layout as a directory and
// as a tar, plain rootfs tar), run as a layered overlay, hostile archives, digests, rmi + layer GC,
// export, and the unpack benchmark. Fixtures are built here from ./rootfs (no network).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ROOTFS, canRun, hostSnapshot, minidock, removeStateRoot, skipReason, tempStateRoot } from '../helpers';
import { dockerArchiveMembers, makeTar, sha256, writeOciLayout, type FixtureConfig } from '../unit/image-fixtures';

const d = canRun ? describe : describe.skip;
if (!canRun) console.warn(`SKIPPED test/integration/images.test.ts: ${skipReason}`);

/** Every path of a directory tree, relative, "/"-prefixed, like `find / -xdev` prints them. */
function treeOf(dir: string): string[] {
  const out: string[] = [];
  const walk = (p: string): void => {
    for (const n of readdirSync(p)) {
      const full = join(p, n);
      out.push('/' + relative(dir, full));
      if (lstatSync(full).isDirectory()) walk(full);
    }
  };
  walk(dir);
  return out;
}

d('images (real kernel)', () => {
  let root: string;
  let fx: string; // fixture files (outside the state root)
  let before: ReturnType<typeof hostSnapshot>;
  let layers: Buffer[];
  const cfg: FixtureConfig = {
    Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'GREETING=hello from config'],
    Entrypoint: ['/bin/sh', '-c'],
    Cmd: ['echo $GREETING; pwd; id -u'],
    WorkingDir: '/data',
  };
  const md = (args: string[], opts: Parameters<typeof minidock>[1] = {}) => minidock(args, { root, ...opts });
  const storeLayers = (): string[] =>
    existsSync(join(root, 'layers/sha256')) ? readdirSync(join(root, 'layers/sha256')).sort() : [];
  const storeImages = (): string[] => (existsSync(join(root, 'images')) ? readdirSync(join(root, 'images')) : []);
  const tmpLeft = (): string[] => (existsSync(join(root, 'tmp')) ? readdirSync(join(root, 'tmp')) : []);

  beforeAll(() => {
    root = tempStateRoot();
    fx = join(root, '..', `${root.split('/').pop()}-fixtures`);
    mkdirSync(fx, { recursive: true });
    // Layer 1: the busybox rootfs (a real tar made by GNU tar) plus a few files to delete or hide later.
    let base = execFileSync('tar', ['-C', ROOTFS, '--numeric-owner', '-cf', '-', '.'], { maxBuffer: 1 << 28 });
    while (base.length >= 512 && base.subarray(base.length - 512).every((b) => b === 0))
      base = base.subarray(0, base.length - 512);
    const l1 = Buffer.concat([
      base,
      makeTar([
        { path: 'data/', type: 'Directory' },
        { path: 'data/old/', type: 'Directory' },
        { path: 'data/old/a.txt', body: 'a' },
        { path: 'data/old/b.txt', body: 'b' },
        { path: 'data/keep.txt', body: 'keep' },
        { path: 'victim.txt', body: 'victim' },
        { path: 'etc/motd', body: 'layer1\n' },
      ]),
    ]);
    // Layer 2: a deleted file, an opaque directory, a setuid file, a hard link, a symlink.
    const l2 = makeTar([
      { path: '.wh.victim.txt' },
      { path: 'data/old/.wh..wh..opq' },
      { path: 'data/old/new.txt', body: 'new' },
      { path: 'bin/suid-prog', body: '#!/bin/sh\necho suid\n', mode: 0o4755, uid: 1000, gid: 1000 },
      { path: 'hard/', type: 'Directory' },
      { path: 'hard/one', body: 'same inode\n' },
      { path: 'hard/two', type: 'Link', linkpath: 'hard/one' },
      { path: 'link-to-motd', type: 'SymbolicLink', linkpath: '/etc/motd' },
    ]);
    // Layer 3: an overwritten file, a deleted directory, xattrs (one binary), a device node.
    const l3 = makeTar([
      { path: 'etc/motd', body: 'layer3\n' },
      { path: 'home/.wh.user' },
      { path: 'xattr-file', body: 'x', xattrs: { 'user.test': 'hello', 'user.bin': Buffer.from([0, 255, 128, 10]) } },
      { path: 'mydev', type: 'CharacterDevice', devmaj: 1, devmin: 3, mode: 0o600 },
    ]);
    layers = [l1, l2, l3];
    writeFileSync(join(fx, 'docker.tar'), makeTar(dockerArchiveMembers(layers, cfg, 'fx:1')));
    writeOciLayout(join(fx, 'oci'), layers, cfg, 'fxoci:2');
    execFileSync('tar', ['-C', join(fx, 'oci'), '-cf', join(fx, 'oci.tar'), '.']);
    writeFileSync(join(fx, 'rootfs.tar.gz'), gzipSync(base));
  });
  afterAll(() => {
    removeStateRoot(root);
    rmSync(fx, { recursive: true, force: true });
  });
  beforeEach(() => {
    // every test starts from an empty image store (it imports what it needs)
    for (const d of ['images', 'layers']) rmSync(join(root, d), { recursive: true, force: true });
    before = hostSnapshot(root);
  });
  afterEach(() => {
    expect(hostSnapshot(root)).toEqual(before);
    expect(tmpLeft()).toEqual([]);
  });

  it('imports a 3-layer docker save archive; the container sees exactly the expected tree', () => {
    const r = md(['import', join(fx, 'docker.tar')]);
    expect(r.stderr).toMatch(/3 unpacked, 0 shared/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Loaded image: fx:1 \([0-9a-f]{12}\)$/m);
    expect(storeLayers()).toEqual(layers.map((l) => sha256(l).slice(7)).sort());

    // the whole tree, as `find / -xdev` inside the container sees it (other mounts not descended)
    const t = md(['run', '--rm', 'fx:1', 'find / -xdev | sort']);
    expect(t.code).toBe(0);
    const expected = new Set(treeOf(ROOTFS).filter((p) => !/^\/(dev|proc|sys)\/./.test(p)));
    for (const p of [
      '/',
      '/data',
      '/data/keep.txt',
      '/data/old',
      '/data/old/new.txt',
      '/etc/motd',
      '/bin/suid-prog',
      '/hard',
      '/hard/one',
      '/hard/two',
      '/link-to-motd',
      '/xattr-file',
      '/mydev',
    ])
      expected.add(p);
    for (const p of [...expected]) if (p === '/home/user' || p.startsWith('/home/user/')) expected.delete(p);
    expect(t.stdout.trim().split('\n').sort()).toEqual([...expected].sort());

    // and each kind of entry is what the layers said
    const s = md([
      'run',
      '--rm',
      'fx:1',
      [
        'cat /etc/motd /link-to-motd',
        'readlink /link-to-motd',
        'stat -c "%a %u %g" /bin/suid-prog',
        'stat -c "%i %h" /hard/one',
        'stat -c "%i %h" /hard/two',
        'stat -c "%F %t %T %a" /mydev',
        'ls -A /data/old',
        'test -e /victim.txt || echo victim-gone',
        'test -e /home/user || echo home-user-gone',
      ].join('; '),
    ]);
    expect(s.code).toBe(0);
    const lines = s.stdout.trim().split('\n');
    expect(lines.slice(0, 3)).toEqual(['layer3', 'layer3', '/etc/motd']);
    expect(lines[3]).toBe('4755 1000 1000');
    expect(lines[4]).toBe(lines[5]); // same inode, 2 links
    expect(lines[4]).toMatch(/^\d+ 2$/);
    expect(lines[6]).toBe('character special file 1 3 600');
    expect(lines[7]).toBe('new.txt'); // a.txt and b.txt hidden by the opaque directory
    expect(lines.slice(8)).toEqual(['victim-gone', 'home-user-gone']);

    // on the host: overlayfs's forms of whiteouts and opaque dirs, and the raw xattrs
    const l2 = join(root, 'layers/sha256', sha256(layers[1]).slice(7), 'fs');
    const wh = lstatSync(join(l2, 'victim.txt'));
    expect(wh.isCharacterDevice() && wh.rdev === 0).toBe(true);
  });

  it('stores opaque dirs as trusted.overlay.opaque=y and keeps binary xattrs exactly', async () => {
    md(['import', '-q', join(fx, 'docker.tar')]);
    const { mdLgetxattr } = await import('../../src/sys/native');
    const l2 = join(root, 'layers/sha256', sha256(layers[1]).slice(7), 'fs');
    const l3 = join(root, 'layers/sha256', sha256(layers[2]).slice(7), 'fs');
    expect(String(mdLgetxattr(join(l2, 'data/old'), 'trusted.overlay.opaque'))).toBe('y');
    expect(mdLgetxattr(join(l2, 'data'), 'trusted.overlay.opaque')).toBeUndefined();
    expect(mdLgetxattr(join(l3, 'xattr-file'), 'user.bin')).toEqual(Buffer.from([0, 255, 128, 10]));
    expect(String(mdLgetxattr(join(l3, 'xattr-file'), 'user.test'))).toBe('hello');
  });

  it('importing the same image again, or as an OCI layout (dir and tar), reuses the layers', () => {
    const inodes = () => storeLayers().map((h) => statSync(join(root, 'layers/sha256', h)).ino);
    md(['import', '-q', join(fx, 'docker.tar')]);
    const first = inodes();
    const again = md(['import', join(fx, 'docker.tar')]);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/0 unpacked, 3 shared/);
    const oci = md(['import', join(fx, 'oci')]);
    expect(oci.code).toBe(0);
    expect(oci.stderr).toMatch(/oci-layout: 1 image\(s\), 3 layer\(s\) \(0 unpacked, 3 shared\)/);
    const ociTar = md(['import', join(fx, 'oci.tar'), 'fxtar:3']);
    expect(ociTar.code).toBe(0);
    expect(ociTar.stderr).toMatch(/0 unpacked, 3 shared/);
    expect(inodes()).toEqual(first); // the very same directories
    const imgs = JSON.parse(md(['images', '--format', 'json']).stdout) as Array<{ names: string[]; layers: string[] }>;
    const img = imgs.find((i) => i.names.includes('fx:1'))!;
    expect(img.names.sort()).toEqual(['fx:1', 'fxoci:2', 'fxtar:3']); // one image (same config), three names
    expect(img.layers).toEqual(layers.map(sha256));
  });

  it("applies the image config with Docker's override rules", () => {
    md(['import', '-q', join(fx, 'oci')]);
    expect(md(['run', '--rm', 'fxoci:2']).stdout).toBe('hello from config\n/data\n0\n'); // Entrypoint + Cmd, WorkingDir
    expect(md(['run', '--rm', 'fxoci:2', 'echo args replace Cmd']).stdout).toBe('args replace Cmd\n'); // Entrypoint kept
    expect(md(['run', '--rm', '--entrypoint', '/bin/echo', 'fxoci:2']).stdout).toBe('\n'); // --entrypoint drops Cmd
    expect(md(['run', '--rm', '--entrypoint', '/bin/echo', 'fxoci:2', 'x', 'y']).stdout).toBe('x y\n');
    expect(md(['run', '--rm', '-e', 'GREETING=from -e', '-w', '/etc', '-u', '1000', 'fxoci:2']).stdout).toBe(
      'from -e\n/etc\n1000\n',
    );
    expect(md(['run', '--rm', '--entrypoint', '', 'fxoci:2', 'env']).stdout).toMatch(
      /^PATH=\/usr\/sbin:\/usr\/bin:\/sbin:\/bin$/m,
    );
    // a rootfs directory still works as before, and a path is never taken for an image
    expect(md(['run', '--rm', ROOTFS, 'echo', 'dir']).stdout).toBe('dir\n');
    const none = md(['run', '--rm', 'no-such-image']);
    expect(none.code).toBe(125);
    expect(none.stderr).toMatch(/no image "no-such-image"/);
  });

  it('imports a gzip rootfs tar as a one-layer image with no command', () => {
    const r = md(['import', join(fx, 'rootfs.tar.gz'), 'bb']);
    expect(r.code).toBe(0);
    expect(md(['run', '--rm', 'bb', 'cat', '/etc/passwd']).stdout).toBe(
      readFileSync(join(ROOTFS, 'etc/passwd'), 'utf8'),
    );
    const n = md(['run', '--rm', 'bb']);
    expect(n.code).toBe(125);
    expect(n.stderr).toMatch(/no command: image bb has no Entrypoint or Cmd/);
  });

  describe('refuses hostile archives and leaves nothing behind', () => {
    let outside: string;
    beforeAll(() => {
      outside = join(fx, 'outside');
      mkdirSync(outside, { recursive: true });
    });
    const refuse = (name: string, tar: Buffer, pattern: RegExp, extra: string[] = []): void => {
      const file = join(fx, name);
      writeFileSync(file, tar);
      const layersBefore = storeLayers();
      const imagesBefore = storeImages();
      const r = md(['import', ...extra, file, 'evil']);
      expect(r.stderr).toMatch(pattern);
      expect(r.code).toBe(125);
      expect(
        r.stderr
          .trim()
          .split('\n')
          .filter((l) => l.startsWith('minidock:')),
      ).toHaveLength(1);
      expect(storeLayers()).toEqual(layersBefore);
      expect(storeImages()).toEqual(imagesBefore);
      expect(readdirSync(outside)).toEqual([]);
    };

    it('"../" paths', () =>
      refuse(
        'dotdot.tar',
        makeTar([
          { path: 'ok', body: 'x' },
          { path: 'a/../../dotdot', body: 'x' },
        ]),
        /"\.\." in the path would leave the layer directory/,
      ));
    it('absolute paths', () => refuse('abs.tar', makeTar([{ path: `${outside}/abs`, body: 'x' }]), /absolute path/));
    it('a symlink escape, then a write through it', () =>
      refuse(
        'symlink.tar',
        makeTar([
          { path: 'esc', type: 'SymbolicLink', linkpath: outside },
          { path: 'esc/pwned', body: 'x' },
        ]),
        /goes through the symlink "esc".*symlink escape/,
      ));
    it('a symlinked directory, then a hard link through it', () =>
      refuse(
        'hl-sym.tar',
        makeTar([
          { path: 'etc', type: 'SymbolicLink', linkpath: '/etc' },
          { path: 'x', type: 'Link', linkpath: 'etc/passwd' },
        ]),
        /hard link "x" -> "etc\/passwd": "etc" is a symlink/,
      ));
    it('a hard link to a host file', () =>
      refuse('hl-abs.tar', makeTar([{ path: 'x', type: 'Link', linkpath: '/etc/passwd' }]), /absolute link target/));
    it('a hard link out of the layer', () =>
      refuse(
        'hl-dotdot.tar',
        makeTar([{ path: 'x', type: 'Link', linkpath: '../../../../etc/passwd' }]),
        /"\.\." in the link target/,
      ));
    it('a tar bomb beyond --max-size', () =>
      refuse(
        'bomb.tar.gz',
        gzipSync(makeTar([{ path: 'zeros', body: Buffer.alloc(20 << 20) }])),
        /more than 5\.0 MiB once uncompressed — refusing it as a tar bomb/,
        ['--max-size', '5M'],
      ));
    it('a tar bomb beyond $MINIDOCK_IMPORT_MAX_SIZE', () => {
      const file = join(fx, 'bomb2.tar.gz');
      writeFileSync(file, gzipSync(makeTar([{ path: 'zeros', body: Buffer.alloc(3 << 20) }])));
      const r = md(['import', file], { env: { ...process.env, MINIDOCK_ROOT: root, MINIDOCK_IMPORT_MAX_SIZE: '1M' } });
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(/tar bomb/);
      expect(storeImages()).toEqual([]);
    });
    it('zstd and xz compression, naming which', () => {
      const plain = join(fx, 'plain.tar');
      writeFileSync(plain, makeTar([{ path: 'f', body: 'x' }]));
      for (const [tool, name] of [
        ['zstd', 'zstd'],
        ['xz', 'xz'],
      ]) {
        if (spawnSync(tool, ['--version']).status !== 0) continue;
        const out = `${plain}.${tool}`;
        execFileSync(tool, ['-q', '-f', '-k', plain]);
        const r = md(['import', tool === 'xz' ? `${plain}.xz` : `${plain}.zst`, 'evil']);
        expect(r.code).toBe(125);
        expect(r.stderr).toMatch(new RegExp(`${name}-compressed, which minidock cannot read`));
        rmSync(out, { force: true });
      }
      expect(storeImages()).toEqual([]);
    });
    it('a good layer followed by a hostile one: the good one is removed again', () => {
      const good = makeTar([{ path: 'fine', body: 'fine' }]);
      const bad = makeTar([{ path: '../evil', body: 'x' }]);
      refuse('mixed.tar', makeTar(dockerArchiveMembers([good, bad], {}, 'evil:1')), /layer 2\/2.*"\.\." in the path/);
    });
  });

  describe('verifies digests', () => {
    it('refuses a docker archive whose layer does not match its diff ID', () => {
      const good = makeTar([{ path: 'a', body: 'one' }]);
      const members = dockerArchiveMembers([good], {}, 'bad:1');
      const layer = members.find((m) => m.path.endsWith('layer.tar'))!;
      layer.body = makeTar([{ path: 'a', body: 'two' }]); // same size, other content
      const file = join(fx, 'tampered.tar');
      writeFileSync(file, makeTar(members));
      const r = md(['import', file]);
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(
        /digest mismatch — the uncompressed layer's sha256 is [0-9a-f]{12}…, the image config says [0-9a-f]{12}… \(diff ID\)/,
      );
      expect(storeLayers()).toEqual([]);
      expect(storeImages()).toEqual([]);
    });
    it('refuses an OCI blob that does not match its digest', () => {
      const dir = join(fx, 'oci-bad');
      writeOciLayout(dir, [makeTar([{ path: 'a', body: 'one' }]), makeTar([{ path: 'b', body: 'two' }])], {}, 'bad:2', {
        corruptLayer: 1,
      });
      const r = md(['import', dir]);
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(/layer 2\/2 .*digest mismatch — the file's sha256 is [0-9a-f]{12}…, the manifest says/);
      expect(storeLayers()).toEqual([]);
      expect(storeImages()).toEqual([]);
    });
    it('refuses a config that does not match its name', () => {
      const members = dockerArchiveMembers([makeTar([{ path: 'a', body: 'one' }])], {}, 'bad:3');
      const c = members.find((m) => /^[0-9a-f]{64}\.json$/.test(m.path))!;
      c.body = String(c.body).replace('"os":"linux"', '"os":"linux" ');
      const file = join(fx, 'badcfg.tar');
      writeFileSync(file, makeTar(members));
      const r = md(['import', file]);
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(/config .* does not match its digest/);
    });
  });

  it('rmi refuses while a container uses the image, then removes it and its unused layers', () => {
    md(['import', '-q', join(fx, 'docker.tar')]);
    md(['import', '-q', join(fx, 'rootfs.tar.gz'), 'bb']);
    expect(storeLayers()).toHaveLength(4);
    const kept = md(['run', '--name', 'keeper', 'fx:1', 'echo written > /data/new; rm /data/keep.txt']);
    expect(kept.code).toBe(0);
    const refused = md(['rmi', 'fx:1']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/used by 1 container\(s\) \(keeper\)/);

    // export the kept container: its writes over its image's layers
    const exp = spawnSync('bash', ['-c', `${join(__dirname, '../../bin/minidock.js')} export keeper | tar -tvf -`], {
      encoding: 'utf8',
      env: { ...process.env, MINIDOCK_ROOT: root },
    });
    expect(exp.status).toBe(0);
    const names = exp.stdout.split('\n').map((l) => l.split(/\s+/).slice(5).join(' '));
    expect(names).toContain('data/new');
    expect(names).not.toContain('data/keep.txt');
    expect(names).not.toContain('victim.txt');
    expect(names).toContain('hard/two link to hard/one');
    expect(names).toContain('link-to-motd -> /etc/motd');
    expect(exp.stdout).toMatch(/^-rwsr-xr-x 1000\/1000 .* bin\/suid-prog$/m);
    expect(exp.stdout).toMatch(/^crw------- 0\/0 +1,3 .* mydev$/m);

    expect(md(['rm', 'keeper']).code).toBe(0);
    const bbLayers = storeLayers().filter((h) => !layers.map((l) => sha256(l).slice(7)).includes(h));
    const untag = md(['rmi', 'fx:1']); // its last name: the image goes
    expect(untag.stdout).toMatch(/^Untagged: fx:1$/m);
    const ok = untag;
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^Deleted: sha256:/m);
    expect((ok.stdout.match(/^Deleted layer:/gm) ?? []).length).toBe(3);
    expect(storeLayers()).toEqual(bbLayers); // bb's layer stays
    expect(md(['rmi', 'bb']).code).toBe(0);
    expect(storeLayers()).toEqual([]);
    expect(storeImages()).toEqual([]);
  });

  it('bench unpack --runs 2: times each run, samples CPU/memory/processes, JSON summary', async () => {
    const { registerBenchUnpack } = await import('../../src/cli/bench-unpack');
    const program = new Command('minidock').exitOverride();
    registerBenchUnpack(program.command('bench'));
    const out = join(fx, 'bench-json', 'bench.json'); // -o makes its directory
    const write = process.stdout.write;
    process.stdout.write = (() => true) as typeof process.stdout.write;
    const errWrite = process.stderr.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      await program.parseAsync(
        [
          'bench',
          'unpack',
          join(fx, 'docker.tar'),
          '--runs',
          '2',
          '--json',
          '-o',
          out,
          '--root',
          root,
          '--out',
          join(fx, 'bench-results'),
          '--no-charts',
        ],
        { from: 'user' },
      );
    } finally {
      process.stdout.write = write;
      process.stderr.write = errWrite;
    }
    const r = JSON.parse(readFileSync(out, 'utf8'));
    const entries = layers.reduce(
      (n, l) => n + spawnSync('tar', ['-tf', '-'], { input: l, encoding: 'utf8' }).stdout.trim().split('\n').length,
      0,
    );
    expect(r.format).toBe('docker-archive');
    expect(r.layers).toBe(3);
    const m = r.results.find((x: { runtime: string }) => x.runtime === 'minidock');
    expect(m.runs).toHaveLength(2);
    for (const run of m.runs) {
      expect(run.ms).toBeGreaterThan(0);
      expect(run.samples).toBeGreaterThanOrEqual(1);
      expect(run.entries).toBe(entries); // every entry of the 3 layers, each run
      expect(run.rssMiB.max).toBeGreaterThan(10);
      expect(run.procs.max).toBeGreaterThanOrEqual(1);
      expect(run.cpuPct.min).toBeLessThanOrEqual(run.cpuPct.avg);
      expect(run.cpuPct.avg).toBeLessThanOrEqual(run.cpuPct.max);
    }
    expect(m.summary.ms.min).toBe(Math.min(...m.runs.map((x: { ms: number }) => x.ms)));
    expect(m.summary.ms.max).toBe(Math.max(...m.runs.map((x: { ms: number }) => x.ms)));
    expect(m.summary.ms.avg).toBeCloseTo((m.runs[0].ms + m.runs[1].ms) / 2, 1);
    expect(m.summary.peakRssMiB).toBe(Math.max(...m.runs.map((x: { rssMiB: { max: number } }) => x.rssMiB.max)));
    const ctr = r.results.find((x: { runtime: string }) => x.runtime === 'ctr');
    expect(ctr.skipped === undefined ? ctr.runs.length : 2).toBe(2); // ran, or says why not
    // and the bench's own files, as every experiment writes them (src/bench/output.ts)
    expect(
      readFileSync(join(fx, 'bench-results', 'unpack.csv'), 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('minidock,')),
    ).toHaveLength(2);
    expect(readFileSync(join(fx, 'bench-results', 'report.md'), 'utf8')).toContain('## Unpack');
    // the bench never touches the image store
    expect(storeLayers()).toEqual([]);
    expect(storeImages()).toEqual([]);
  });
});
