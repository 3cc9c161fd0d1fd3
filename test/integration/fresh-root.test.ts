// The first hour on a fresh machine: a state root that does not exist yet (nor its parent). Every
// writing verb makes it, with safe modes; every reading verb answers normally and makes nothing;
// a root that cannot be made is one line and exit 125, never "internal error" and a stack trace.
// Each test takes its own <tmp>/a/b/<name>, so that `a` and `b` are missing too.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ROOTFS,
  canRun,
  hostSnapshot,
  minidock,
  removeStateRoot,
  skipReason,
  tempStateRoot,
  type Result,
} from '../helpers';

const d = canRun ? describe : describe.skip;
if (!canRun) console.warn(`SKIPPED test/integration/fresh-root.test.ts: ${skipReason}`);

/** mode bits of a path (without the file type) */
const modeOf = (p: string): number => statSync(p).mode & 0o7777;
/** what mkdir(2) makes of `mode` under the umask minidock inherits from this process */
const umask = process.umask();
const made = (mode: number): number => mode & ~umask;

/** No verb may answer a condition a user can cause with a stack trace. */
function expectNoCrash(r: Result, what: string): void {
  expect(r.stderr, what).not.toMatch(/internal error|\n\s+at /);
  expect(r.signal, what).toBeNull();
}

d('a state root that does not exist yet (real CLI)', () => {
  const bases: string[] = [];
  const roots: string[] = [];
  /** <tmp>/a/b/<unique>: the root and its two parents missing; unique, so that the cgroup parent
   * the helpers derive from its name is this test's own */
  const freshRoot = (): string => {
    const base = tempStateRoot();
    bases.push(base);
    const root = join(base, 'a', 'b', basename(base));
    roots.push(root);
    return root;
  };
  afterAll(() => {
    for (const r of roots) removeStateRoot(r);
    for (const b of bases) rmSync(b, { recursive: true, force: true });
  });

  it('reading verbs (ps -a, images, inspect, logs, stats, gc, prune, rm, rmi) answer normally and create nothing', () => {
    const root = freshRoot();
    const md = (args: string[]) => minidock(args, { root });
    const ps = md(['ps', '-a']);
    expect(ps.code).toBe(0);
    expect(ps.stdout).toMatch(/^CONTAINER ID\s+ROOTFS\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES\n$/); // PORTS: 739cf8b (issue 17)
    expect(md(['ps', '-aq']).stdout).toBe('');
    const images = md(['images']);
    expect(images.code).toBe(0);
    expect(images.stdout.split('\n').filter(Boolean)).toHaveLength(1); // the header only
    const inspect = md(['inspect', 'x']);
    expect(inspect.code).toBe(1);
    expect(inspect.stderr).toBe('minidock: no such container: x (see minidock ps -a)\n');
    expect(md(['logs', 'x']).stderr).toBe('minidock: no such container: x (see minidock ps -a)\n');
    expect(md(['stats', '--no-stream']).code).toBe(0);
    expect(md(['gc']).stdout).toBe('nothing to collect\n');
    expect(md(['prune']).stdout).toBe('Nothing to prune\n');
    expect(md(['rm', 'x']).code).toBe(1);
    expect(md(['rmi', 'x']).code).toBe(1);
    for (const args of [
      ['ps', '-a'],
      ['images'],
      ['inspect', 'x'],
      ['logs', 'x'],
      ['gc'],
      ['prune'],
      ['rm', 'x'],
      ['rmi', 'x'],
    ])
      expectNoCrash(md(args), args.join(' '));
    expect(existsSync(join(root, '..', '..'))).toBe(false); // not even <tmp>/a
  });

  it('run and run -d create the root and its parents (root 0711, container state 0700) and leave nothing else', () => {
    const root = freshRoot();
    const md = (args: string[]) => minidock(args, { root });
    const before = hostSnapshot(root);
    const r = md(['run', '--rm', ROOTFS, 'echo', 'hello']);
    expectNoCrash(r, 'run');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('hello\n');
    expect(modeOf(root), 'root').toBe(made(0o711));
    expect(modeOf(join(root, '..')), 'parent').toBe(made(0o755)); // as mkdir -p: not the root's mode
    expect(modeOf(join(root, '..', '..')), 'grandparent').toBe(made(0o755));
    expect(modeOf(join(root, 'containers'))).toBe(made(0o711));
    expect(hostSnapshot(root)).toEqual(before);

    // run -d, with a name, into another fresh root: the monitor's directory and the name registry
    const root2 = freshRoot();
    const md2 = (args: string[]) => minidock(args, { root: root2 });
    const before2 = hostSnapshot(root2);
    const dr = md2(['run', '-d', '--name', 'first', ROOTFS, 'sh', '-c', 'echo hello; sleep 60']);
    expectNoCrash(dr, 'run -d');
    expect(dr.stderr).toBe('');
    expect(dr.code).toBe(0);
    const id = dr.stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(modeOf(join(root2, 'containers', id)) & 0o077, 'container directory').toBe(0);
    expect(modeOf(join(root2, 'names')) & 0o077, 'names').toBe(0);
    expect(md2(['ps', '-q']).stdout).toBe(id.slice(0, 12) + '\n');
    expect(md2(['rm', '-f', 'first']).code).toBe(0);
    expect(hostSnapshot(root2)).toEqual(before2);
    expect(md2(['ps', '-aq']).stdout).toBe('');
  });

  it('import creates the root and its image store', () => {
    const root = freshRoot();
    const tar = join(bases[bases.length - 1], 'rootfs.tar'); // beside, not inside, the missing root
    execFileSync('tar', ['-C', ROOTFS, '-cf', tar, '.']);
    const r = minidock(['import', '-q', tar, 'fresh'], { root });
    expectNoCrash(r, 'import');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Loaded image: fresh:latest \([0-9a-f]{12}\)\n$/);
    expect(modeOf(root)).toBe(made(0o711)); // not tmp/'s 0700, which its recursive mkdir gave it before
    expect(modeOf(join(root, '..'))).toBe(made(0o755));
    expect(readdirSync(root).sort()).toEqual(['images', 'layers', 'tmp']);
    expect(modeOf(join(root, 'tmp')) & 0o077).toBe(0);
    expect(minidock(['images', '-q'], { root }).stdout.trim()).toMatch(/^[0-9a-f]{12}$/);
    expect(minidock(['rmi', 'fresh'], { root }).code).toBe(0);
  });

  it('a lesson runs on a fresh root (lesson 9: run -d, ps, logs, exec, stop, rm)', () => {
    const root = freshRoot();
    const r = minidock(['lesson', '9', '--run', '--lang', 'en'], { root, timeout: 180_000 });
    expectNoCrash(r, 'lesson 9');
    expect(r.stdout + r.stderr).toMatch(/\b0 failed\b/);
    expect(r.code).toBe(0);
    expect(existsSync(join(root, 'containers'))).toBe(true); // its run -d made the root
    expect(minidock(['ps', '-aq'], { root }).stdout).toBe(''); // and its last step removed the container
  });

  it('bench startup --quick runs with a state root that does not exist', () => {
    const root = freshRoot();
    const out = join(bases[bases.length - 1], 'results');
    const r = minidock(
      ['bench', 'startup', '--quick', '--runtimes', 'bare,minidock', '--no-charts', '--no-live', '--out', out],
      {
        root,
        timeout: 300_000,
      },
    );
    expectNoCrash(r, 'bench startup --quick');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\| minidock \| 5 \|/);
    expect(existsSync(join(out, 'results.json'))).toBe(true);
  });

  it('a root that cannot be made is one line and exit 125: a file, a path through a file, a directory of /proc', () => {
    const base = tempStateRoot();
    bases.push(base);
    const file = join(base, 'file');
    writeFileSync(file, 'not a directory\n');
    const cases: Array<[string, RegExp]> = [
      [
        file,
        new RegExp(
          `^minidock: the state root ${file} exists and is not a directory: choose another state root \\(--root DIR or MINIDOCK_ROOT`,
        ),
      ],
      [
        join(file, 'x', 'root'),
        new RegExp(
          `^minidock: cannot create the state root ${file}/x/root: ${file} is not a directory — choose another`,
        ),
      ],
      // mkdir in /proc says ENOENT under a directory that exists: Node's recursive mkdir loops on it forever
      [
        '/proc/minidock-no/root',
        /^minidock: cannot create the state root \/proc\/minidock-no\/root: mkdir \/proc\/minidock-no: ENOENT — choose another/,
      ],
    ];
    for (const [root, message] of cases) {
      for (const args of [
        ['run', '--rm', ROOTFS, 'true'],
        ['run', '-d', ROOTFS, 'true'],
        ['import', '-q', file, 'x'],
      ]) {
        const r = minidock(args, { env: { MINIDOCK_ROOT: root }, timeout: 20_000 });
        const what = `${args.slice(0, 2).join(' ')} with root ${root}`;
        expectNoCrash(r, what);
        expect(r.code, what).toBe(125);
        expect(r.stderr.split('\n').filter(Boolean), what).toHaveLength(1);
        if (args[0] === 'run') expect(r.stderr, what).toMatch(message);
      }
    }
  });

  it('doctor checks the state root, missing or unusable, and creates nothing', () => {
    const root = freshRoot();
    const checks = (r: string) => {
      const res = minidock(['doctor', '--json', '--root', r], { timeout: 120_000 });
      expectNoCrash(res, `doctor --root ${r}`);
      return (JSON.parse(res.stdout) as Array<{ area: string; status: string; found: string; fix?: string }>).filter(
        (c) => c.area.startsWith('state root'),
      );
    };
    const fresh = checks(root);
    expect(fresh[0]).toMatchObject({ area: 'state root', status: 'ok' });
    expect(fresh[0].found).toBe(
      `${root} does not exist yet: the first run or import creates it (mode 0711) in ${bases[bases.length - 1]}`,
    );
    expect(fresh[1].area).toBe('state root filesystem');
    expect(fresh[1].found).toMatch(/, [\d.]+ (MiB|GiB) free/);
    expect(existsSync(join(root, '..', '..'))).toBe(false);
    const file = join(bases[bases.length - 1], 'file');
    writeFileSync(file, '');
    const bad = checks(join(file, 'root'));
    expect(bad[0]).toMatchObject({
      status: 'fail',
      found: `${file}/root cannot be created: ${file} is not a directory`,
    });
    expect(bad[0].fix).toMatch(/choose another state root/);
  });
});
