// The state store under attack and bad luck (issue "Nothing lost, nothing reachable", items 1, 4
// and 6), against the real kernel and the real CLI, as root: a corrupt state.json (no verb may
// lose the container, rm -f must still stop it), run -d --name racing rm -f of the same name (no
// misleading error), and a store other local users cannot reach (modes of a fresh root and of an
// existing one, checked as uid 65534).
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ROOTFS,
  canRun,
  hostSnapshot,
  minidock,
  minidockAsync,
  minidockCgroups,
  pidsMatching,
  removeStateRoot,
  skipReason,
  tempStateRoot,
  waitFor,
} from '../helpers';

const d = canRun ? describe : describe.skip;
if (!canRun) console.warn(`SKIPPED test/integration/store-races.test.ts: ${skipReason}`);

const NOBODY = 65534;
const mode = (p: string): string => (statSync(p).mode & 0o7777).toString(8).padStart(4, '0');
/** Run a command as uid/gid 65534 (another local user). */
const asNobody = (cmd: string, args: string[]) => spawnSync(cmd, args, { uid: NOBODY, gid: NOBODY, encoding: 'utf8' });

d('the state store: corrupt state, races between verbs, modes (real kernel)', () => {
  let root: string;
  const md = (args: string[], extra: Parameters<typeof minidock>[1] = {}) => minidock(args, { root, ...extra });
  const monitors = () => pidsMatching(join(root, 'containers'), 'minidock-monito');
  const containerCgroups = (id: string) => minidockCgroups().filter((p) => p.endsWith(`/minidock-${id.slice(0, 12)}`));

  beforeAll(() => {
    root = tempStateRoot();
  });
  afterAll(() => {
    for (const p of monitors()) process.kill(p, 'SIGKILL'); // only after a failure
    const left = md(['ps', '-aq', '--no-trunc']).stdout.split('\n').filter(Boolean);
    if (left.length) md(['rm', '-f', ...left]);
    removeStateRoot(root);
  });

  it('item 1: a corrupt state.json — the reading verbs, gc and prune keep the container (listed as unknown, one line naming the file); rm -f stops it by its cgroups', async () => {
    const before = hostSnapshot(root);
    const r = md(['run', '-d', '--name', 'u', ROOTFS, 'sleep', '3694']);
    expect(r.code, r.stderr).toBe(0);
    const id = r.stdout.trim();
    const dir = join(root, 'containers', id);
    const file = join(dir, 'state.json');
    const cgroups = containerCgroups(id);
    expect(cgroups.length).toBeGreaterThan(0);
    writeFileSync(file, '{"status":"runn'); // cut off mid-write
    const line = new RegExp(
      `^minidock: ${file}: cannot be parsed \\(.*\\): container ${id.slice(0, 12)} is shown as unknown — minidock rm -f ${id.slice(0, 12)} stops what is in its cgroups and removes it\\n$`,
    );

    const ps = md(['ps', '-a', '--format', 'json']);
    expect(ps.code).toBe(0);
    expect(ps.stderr).toMatch(line);
    expect(JSON.parse(ps.stdout)).toMatchObject({ ID: id, Names: 'u', State: 'unknown' });
    const ins = md(['inspect', 'u']);
    expect(ins.code).toBe(0);
    expect(ins.stderr).toMatch(line);
    expect(JSON.parse(ins.stdout)[0].State).toMatchObject({ Status: 'unknown', Running: false, Dead: false });
    const w = md(['wait', 'u']);
    expect(w.code).toBe(1);
    expect(w.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    for (const verb of [['gc'], ['prune']]) {
      const g = md(verb);
      expect(g.code, verb[0]).toBe(0);
      expect(g.stderr, verb[0]).toMatch(line);
    }
    const plain = md(['rm', 'u']);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(
      /^minidock: cannot remove container u: .*state\.json: cannot be parsed .*, so whether it runs is unknown — rm -f stops what is in its cgroups and removes it\n$/,
    );
    // nothing of it was touched: directory, upper layer, processes, cgroups
    expect(readdirSync(dir)).toEqual(expect.arrayContaining(['config.json', 'state.json', 'upper', 'container.log']));
    expect(pidsMatching('sleep 3694', 'sleep')).toHaveLength(1);
    expect(monitors()).toHaveLength(1);
    expect(containerCgroups(id)).toEqual(cgroups);

    // rm -f finds the cgroups from the container ID in their names, kills what is in them, waits
    // for the monitor and removes it all
    const f = md(['rm', '-f', 'u']);
    expect(f.stderr).toBe('');
    expect(f.code).toBe(0);
    expect(pidsMatching('sleep 3694', 'sleep')).toEqual([]);
    expect(monitors()).toEqual([]);
    expect(containerCgroups(id)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    expect(md(['ps', '-a']).stdout.split('\n').filter(Boolean)).toHaveLength(1);

    // an exited container with an unreadable state file: never deleted by ps -a, inspect, gc
    const ex = md(['run', '--name', 'x', ROOTFS, 'true']);
    expect(ex.code, ex.stderr).toBe(0);
    const xid = md(['ps', '-aq', '--no-trunc']).stdout.trim();
    writeFileSync(join(root, 'containers', xid, 'state.json'), '');
    for (const verb of [['ps', '-a'], ['inspect', 'x'], ['gc'], ['prune']]) md(verb);
    expect(existsSync(join(root, 'containers', xid, 'upper'))).toBe(true);
    expect(md(['ps', '-a']).stdout).toMatch(/Unknown: its state\.json cannot be parsed\s+x\n$/);
    expect(md(['rm', '-f', 'x']).code).toBe(0);
    // the store's own writes leave no temp file behind
    expect(hostSnapshot(root)).toEqual(before);
  }, 60_000);

  it('item 4: 20 run -d --name raceN against rm -f raceN: every failure is "no such container" or "removal in progress", nothing is left', async () => {
    const before = hostSnapshot(root);
    const ops = Array.from({ length: 20 }, async (_, i) => {
      const name = `race${i}`;
      const run = minidockAsync(['run', '-d', '--name', name, ROOTFS, 'sleep', '3693'], { root });
      // rm -f again and again while the launch runs: some land before the container exists,
      // some while it is being set up, the last one after it runs
      const rms: Awaited<ReturnType<typeof minidockAsync>['done']>[] = [];
      let ran: Awaited<typeof run.done> | undefined;
      void run.done.then((x) => (ran = x));
      for (;;) {
        const finished = ran !== undefined;
        rms.push(await minidockAsync(['rm', '-f', name], { root }).done);
        if (finished) break; // this one began after the launch had ended: the container is gone now
      }
      return { name, run: ran!, rms };
    });
    const results = await Promise.all(ops);
    const bad: string[] = [];
    for (const { name, run, rms } of results) {
      if (run.code !== 0 && !/^minidock: (no such container|.*removal in progress)/.test(run.stderr))
        bad.push(`run ${name}: ${run.code} ${run.stderr}`);
      if (run.code === 0 && !/^[0-9a-f]{64}\n$/.test(run.stdout)) bad.push(`run ${name} printed ${run.stdout}`);
      for (const r of rms) {
        if (r.code === 0 && r.stdout === `${name}\n` && r.stderr === '') continue;
        if (
          r.code === 1 &&
          (r.stderr === `minidock: no such container: ${name} (see minidock ps -a)\n` ||
            /^minidock: container \S+: removal in progress .*\n$/.test(r.stderr))
        )
          continue;
        bad.push(`rm -f ${name}: ${r.code} ${r.stderr}`);
      }
    }
    console.log(
      `race: ${results.filter((x) => x.run.code === 0).length} runs started, ${results.reduce((n, x) => n + x.rms.length, 0)} rm -f calls`,
    );
    expect(bad).toEqual([]);
    await waitFor(() => monitors().length === 0, 15_000, 'the monitors to exit');
    expect(md(['ps', '-aq']).stdout).toBe('');
    expect(pidsMatching('sleep 3693', 'sleep')).toEqual([]);
    expect(hostSnapshot(root)).toEqual(before);
  }, 120_000);

  it('item 6: a fresh store is closed to other users (root 0711, containers/ 0711, layers/ 0700): uid 65534 reaches no layer file; an existing 0755 root is repaired', () => {
    // (not below the test's own root: mkdtemp made that 0700, which would hide everything anyway)
    const top = mkdtempSync('/tmp/minidock-modes-');
    chmodSync(top, 0o755); // other users may come this far
    const fresh = join(top, basename(top));
    const fx = join(root, 'fx');
    const tree = join(fx, 'tree');
    mkdirSync(join(tree, 'bin'), { recursive: true });
    mkdirSync(join(tree, 'dev'));
    // an image with a setuid-root binary and a world-writable device node (/dev/null's numbers)
    writeFileSync(join(tree, 'bin', 'suid'), '#!/bin/sh\n');
    chmodSync(join(tree, 'bin', 'suid'), 0o4755);
    expect(spawnSync('mknod', ['-m', '666', join(tree, 'dev', 'open'), 'c', '1', '3']).status).toBe(0);
    writeFileSync(join(tree, 'hello'), 'hi\n');
    chmodSync(join(tree, 'hello'), 0o644);
    expect(spawnSync('cp', ['-a', join(ROOTFS, 'bin', 'busybox'), join(tree, 'bin', 'busybox')]).status).toBe(0);
    for (const t of ['sh', 'cat', 'true', 'sleep']) spawnSync('ln', ['-s', 'busybox', join(tree, 'bin', t)]);
    expect(spawnSync('tar', ['-cf', join(fx, 'img.tar'), '-C', tree, '.']).status).toBe(0);
    try {
      const imp = minidock(['import', '-q', join(fx, 'img.tar'), 'modes'], { root: fresh });
      expect(imp.code, imp.stderr).toBe(0);
      const run = minidock(['run', '-d', 'modes', 'sh', '-c', 'sleep 3692'], { root: fresh });
      expect(run.code, run.stderr).toBe(0);
      const id = run.stdout.trim();
      expect({
        root: mode(fresh),
        containers: mode(join(fresh, 'containers')),
        container: mode(join(fresh, 'containers', id)),
        layers: mode(join(fresh, 'layers')),
        tmp: mode(join(fresh, 'tmp')),
      }).toEqual({ root: '0711', containers: '0711', container: '0700', layers: '0700', tmp: '0700' });
      const layer = readdirSync(join(fresh, 'layers', 'sha256'))[0];
      const fs = join(fresh, 'layers', 'sha256', layer, 'fs');
      expect(mode(join(fs, 'bin', 'suid'))).toBe('4755'); // the image's own modes are kept...
      for (const p of [join(fs, 'bin', 'suid'), join(fs, 'dev', 'open'), join(fs, 'hello')]) {
        const st = asNobody('stat', ['-c', '%a', p]); // ...but nobody else can reach them
        expect(st.status, p).not.toBe(0);
        expect(st.stderr, p).toMatch(/Permission denied/);
      }
      expect(asNobody('ls', [fresh]).status).not.toBe(0); // nor list the container IDs
      // the containers still read their layers (overlayfs opens them with the mounter's credentials)
      const cat = minidock(['run', '--rm', '-u', String(NOBODY), 'modes', 'cat', '/hello'], { root: fresh });
      expect(cat.stderr).toBe('');
      expect(cat.stdout).toBe('hi\n');
      expect(minidock(['rm', '-f', id], { root: fresh }).code).toBe(0);

      // an existing store made open (an older minidock, mkdir by hand): the next writing verb repairs it
      chmodSync(fresh, 0o755);
      chmodSync(join(fresh, 'layers'), 0o755);
      chmodSync(join(fresh, 'containers'), 0o777);
      const again = minidock(['run', '--rm', 'modes', 'true'], { root: fresh });
      expect(again.code).toBe(0);
      expect(again.stderr).toBe(
        `minidock: the state root ${fresh} was mode 0755 (other users could list or write it): made 0711\n`,
      );
      expect([mode(fresh), mode(join(fresh, 'layers')), mode(join(fresh, 'containers'))]).toEqual([
        '0711',
        '0700',
        '0711',
      ]);
      // one it may not change (another user's): a warning, and the mode stays
      chownSync(fresh, NOBODY, NOBODY);
      chmodSync(fresh, 0o755);
      const warned = minidock(['run', '--rm', 'modes', 'true'], { root: fresh });
      expect(warned.code).toBe(0);
      expect(warned.stderr).toMatch(
        new RegExp(
          `^minidock: warning: the state root ${fresh} is mode 0755: other users can list or write it — chmod go-rw ${fresh}, or choose another state root .*\\n$`,
        ),
      );
      expect(mode(fresh)).toBe('0755');
    } finally {
      for (const p of pidsMatching(join(fresh, 'containers'), 'minidock-monito')) process.kill(p, 'SIGKILL');
      removeStateRoot(fresh);
      rmSync(top, { recursive: true, force: true });
      rmSync(fx, { recursive: true, force: true });
    }
  }, 60_000);
});
