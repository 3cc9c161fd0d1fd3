// commit, save/load, tag, history, image inspect and system df against the real kernel, as root:
// a container's writes become a layer (whiteouts and opaque directories included) that `run` shows,
// images go out as a docker-save archive that minidock (and Podman, when installed) loads back
// with the same ID, and every bad input is one line with exit 125 (1 for a missing image or
// container, as Docker's client), leaving the store as it was.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOTFS, canRun, minidock, removeStateRoot, skipReason, tempStateRoot, useLeakCheckedRoot } from '../helpers';

const d = canRun ? describe : describe.skip;
if (!canRun) console.warn(`SKIPPED test/integration/images-commit.test.ts: ${skipReason}`);
const podman = spawnSync('podman', ['--version']).status === 0;

/** Every file under a directory, relative, sorted (to see that a command changed nothing). */
function filesOf(dir: string): string[] {
  return existsSync(dir) ? (readdirSync(dir, { recursive: true, encoding: 'utf8' }) as string[]).sort() : [];
}

d('commit, save/load, tag, history, image inspect, system df (real kernel)', () => {
  let root = '';
  useLeakCheckedRoot((r) => (root = r));
  const md = (args: string[], r = root) => minidock(args, { root: r });
  const ok = (args: string[], r = root): string => {
    const res = md(args, r);
    expect(res.stderr, args.join(' ')).not.toMatch(/^minidock:/m);
    expect(res.code, `${args.join(' ')}: ${res.stderr}`).toBe(0);
    return res.stdout;
  };
  const refused = (args: string[], code: number, text: RegExp): void => {
    const r = md(args);
    expect(r.code, r.stderr).toBe(code);
    expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
    expect(r.stderr).toMatch(/^minidock: /);
    expect(r.stderr).toMatch(text);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  };
  const tmpEmpty = () => expect(filesOf(join(root, 'tmp')).filter((n) => !n.includes('/'))).toEqual([]);
  const others: string[] = [];
  afterAll(() => {
    for (const o of others) rmSync(o, { recursive: true, force: true });
  });

  it('commit: the upper layer (added, changed, deleted, a directory made anew) on the rootfs; run shows it', () => {
    ok([
      'run',
      '--name',
      'c1',
      ROOTFS,
      'sh',
      '-c',
      'echo hi > /etc/new; echo changed > /etc/hostname; rm /bin/ls; rm -rf /home; mkdir /home; echo n > /home/only',
    ]);
    const id = ok(['commit', '-m', 'first', '-a', 'Ana', 'c1', 'cimg:1']).trim();
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    const out = ok([
      'run',
      '--rm',
      'cimg:1',
      'sh',
      '-c',
      'cat /etc/new /etc/hostname; ls /home; test -e /bin/ls || echo no-ls',
    ]);
    expect(out).toBe('hi\nchanged\nonly\nno-ls\n');
    // the default command is the container's
    expect(JSON.parse(ok(['image', 'inspect', 'cimg:1']))[0]).toMatchObject({
      Id: id,
      RepoTags: ['cimg:1'],
      Author: 'Ana',
      Comment: 'first',
      Config: { Cmd: ['sh', '-c', expect.stringContaining('echo hi')] },
      RootFS: { Type: 'layers', Layers: [expect.any(String), expect.any(String)] },
    });
    ok(['rm', 'c1']);
    tmpEmpty();
  });

  it('commit on an image: one more layer, its history on top; a running container is committed and keeps running', () => {
    ok(['run', '-d', '--name', 'c2', 'cimg:1', 'sh', '-c', 'rm /etc/new; echo two > /two; sleep 60']);
    let r = md(['exec', 'c2', 'cat', '/two']);
    for (let i = 0; i < 50 && r.stdout !== 'two\n'; i++) r = md(['exec', 'c2', 'cat', '/two']);
    ok(['commit', 'c2', 'cimg:2']);
    expect(ok(['exec', 'c2', 'echo', 'still running'])).toBe('still running\n'); // unpaused after
    expect(ok(['run', '--rm', 'cimg:2', 'sh', '-c', 'cat /two; test -e /etc/new || echo gone; cat /home/only'])).toBe(
      'two\ngone\nn\n',
    );
    const hist = ok(['history', 'cimg:2']).trim().split('\n');
    expect(hist[0]).toMatch(/^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
    expect(hist).toHaveLength(4); // header + rootfs + two commits
    expect(hist[1]).toMatch(/^[0-9a-f]{12}\s.*minidock commit/);
    expect(hist[2]).toMatch(/^<missing>\s.*minidock commit\s.*first$/);
    expect(hist[3]).toMatch(/minidock commit: the rootfs/);
    expect(JSON.parse(ok(['image', 'inspect', 'cimg:2']))[0].RootFS.Layers).toHaveLength(3);
    ok(['rm', '-f', 'c2']);
  });

  it('tag: another name; the name moves; bad names and missing images refused in one line', () => {
    ok(['tag', 'cimg:1', 'other/name:v1']);
    ok(['tag', 'cimg:2', 'other/name:v1']); // moves to cimg:2's image
    const inspect = JSON.parse(ok(['image', 'inspect', 'cimg:1', 'cimg:2']));
    expect(inspect[0].RepoTags).toEqual(['cimg:1']);
    expect(inspect[1].RepoTags).toEqual(['cimg:2', 'other/name:v1']);
    refused(['tag', 'cimg:1', 'Upper:x'], 125, /must be lowercase/);
    refused(['tag', 'cimg:1', 'a:-bad'], 125, /tag "-bad"/);
    refused(['tag', 'nosuch:1', 'x:1'], 1, /no such image: nosuch:1/);
  });

  it('save -o, then load into another state root: same image ID, runs, and saved again gives the same layers', () => {
    const fresh = tempStateRoot();
    others.push(fresh);
    const file = join(fresh, '..', `${fresh.split('/').pop()}.tar`);
    others.push(file);
    ok(['save', '-o', file, 'cimg:2']);
    const members = execFileSync('tar', ['-tf', file], { encoding: 'utf8' }).trim().split('\n');
    expect(members).toContain('manifest.json');
    expect(members.filter((m) => m.endsWith('/layer.tar'))).toHaveLength(3);
    const id = JSON.parse(ok(['image', 'inspect', 'cimg:2']))[0].Id;
    expect(members).toContain(`${id.slice(7)}.json`);
    expect(ok(['load', '-i', file], fresh)).toBe('Loaded image: cimg:2\nLoaded image: other/name:v1\n');
    expect(JSON.parse(ok(['image', 'inspect', 'cimg:2'], fresh))[0].Id).toBe(id);
    expect(ok(['run', '--rm', 'cimg:2', 'cat', '/two'], fresh)).toBe('two\n');
    const again = `${file}.2`;
    others.push(again);
    ok(['save', 'cimg:2', '-o', again], fresh);
    const manifest = (f: string) => execFileSync('tar', ['-xOf', f, 'manifest.json'], { encoding: 'utf8' });
    expect(JSON.parse(manifest(again))).toEqual(JSON.parse(manifest(file)));
    // stdin too, as docker load < file
    const viaStdin = spawnSync(join(__dirname, '..', '..', 'bin', 'minidock.js'), ['load', '-q'], {
      input: readFileSync(file),
      env: { ...process.env, MINIDOCK_ROOT: fresh },
      encoding: 'utf8',
    });
    expect(viaStdin.status, viaStdin.stderr).toBe(0);
    expect(filesOf(join(fresh, 'tmp')).filter((n) => !n.includes('/'))).toEqual([]);
    removeStateRoot(fresh);
  });

  it.skipIf(!podman)('podman load takes the archive, with the same image ID (a private vfs store)', () => {
    const file = join(tmpdir(), `minidock-save-${process.pid}.tar`);
    const store = mkdtempSync(join(tmpdir(), 'minidock-podman-'));
    others.push(file, store);
    ok(['save', 'cimg:1', '-o', file]);
    const id = JSON.parse(ok(['image', 'inspect', 'cimg:1']))[0].Id as string;
    const p = (args: string[]) =>
      spawnSync(
        'podman',
        ['--root', join(store, 'root'), '--runroot', join(store, 'run'), '--storage-driver', 'vfs', ...args],
        {
          encoding: 'utf8',
        },
      );
    const loaded = p(['load', '-i', file]);
    expect(loaded.status, loaded.stderr).toBe(0);
    expect(loaded.stdout).toMatch(/Loaded image.*cimg:1/);
    const images = p(['images', '--no-trunc', '--format', '{{.ID}} {{.Repository}}:{{.Tag}}']);
    expect(images.stdout).toContain(`${id} localhost/cimg:1`);
    p(['rmi', '-a', '-f']);
  });
  if (!podman) console.warn('SKIPPED podman load check: podman is not installed');

  it('system df: images and containers with their sizes; it changes nothing', () => {
    ok(['run', '--name', 'c3', 'cimg:1', 'sh', '-c', 'head -c 3000 /dev/zero > /blob']);
    const before = filesOf(root);
    const table = ok(['system', 'df']);
    expect(table).toMatch(/^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE\n/);
    const rows = JSON.parse(ok(['system', 'df', '--format', 'json']));
    const images = rows.find((r: { type: string }) => r.type === 'Images');
    const containers = rows.find((r: { type: string }) => r.type === 'Containers');
    expect(images).toMatchObject({ total: 2, active: 1 });
    expect(images.reclaimable).toBeLessThan(images.size); // cimg:1's layers are in use
    expect(containers).toMatchObject({ total: 1, active: 0, size: 3000, reclaimable: 3000 });
    expect(ok(['system', 'df', '-v'])).toMatch(/Containers space usage:[\s\S]*c3\s+2\.9 KiB\s+not running/);
    expect(filesOf(root)).toEqual(before);
    ok(['rm', 'c3']);
  });

  it('bad input: one line, exit 125 (1 for what does not exist), nothing left in the store', () => {
    const before = filesOf(root);
    refused(['commit', 'nosuch'], 1, /no such container: nosuch/);
    ok(['run', '--name', 'c4', ROOTFS, 'true']);
    const mid = filesOf(root);
    refused(['commit', 'c4', 'Bad/Name'], 125, /lowercase/);
    refused(['save', 'nosuch:1', '-o', join(root, 'x.tar')], 1, /no such image: nosuch:1/);
    expect(existsSync(join(root, 'x.tar'))).toBe(false);
    refused(['load', '-i', '/nonexistent.tar'], 125, /no such file/);
    refused(['history', 'nosuch'], 1, /no such image/);
    refused(['history', '--format', 'xml', 'cimg:1'], 125, /use table or json/);
    refused(['system', 'df', '--format', 'xml'], 125, /use table or json/);
    expect(filesOf(root)).toEqual(mid);
    ok(['rm', 'c4']);
    expect(filesOf(root)).toEqual(before);
  });

  it('rmi removes committed images and their layers', () => {
    ok(['rmi', 'cimg:1', 'cimg:2', 'other/name:v1']);
    expect(JSON.parse(ok(['images', '--format', 'json']))).toEqual([]);
    expect(filesOf(join(root, 'layers', 'sha256'))).toEqual([]);
    expect(filesOf(join(root, 'images'))).toEqual([]);
  });
});
