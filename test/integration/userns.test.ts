// User namespaces (issue 18) against the real kernel, as root: --userns auto, --uidmap/--gidmap, and
// what the container's root can and cannot do. Every test checks the host before and after
// (useLeakCheckedRoot): no mount, cgroup or container directory left.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOTFS, canRun, hostSnapshot, minidock, skipReason, useLeakCheckedRoot } from '../helpers';
import { kernelIdmapsOverlayLayers, subordinateRange } from '../../src/runtime/userns';
import { detectCgroups } from '../../src/runtime/cgroups/detect';

// What this kernel allows, detected: user namespaces can be switched off (user.max_user_namespaces=0,
// or Debian's kernel.unprivileged_userns_clone=0 for normal users only).
const readNum = (f: string): number | undefined => {
  try {
    return Number(readFileSync(f, 'utf8').trim());
  } catch {
    return undefined;
  }
};
const maxUserNs = readNum('/proc/sys/user/max_user_namespaces');
const auto = subordinateRange('/etc/subuid', ['minidock']);
const autoG = subordinateRange('/etc/subgid', ['minidock']);
const skip = !canRun ? skipReason : maxUserNs === 0 ? 'user namespaces are disabled (user.max_user_namespaces=0)' : '';
const skipAuto =
  skip ||
  (!auto || !autoG ? 'no "minidock" range in /etc/subuid or /etc/subgid (`npm run build` as root adds it)' : '');
if (skip) console.warn(`SKIPPED test/integration/userns.test.ts: ${skip}`);

describe.skipIf(!!skip)('user namespaces as root', () => {
  let root: string;
  useLeakCheckedRoot((r) => {
    root = r;
    chmodSync(r, 0o711); // (mkdtemp makes 0700: the mapped root must pass through, as through /var/lib/minidock)
  });
  const run = (args: string[]) => minidock(['run', '--rm', ...args], { root });

  it.skipIf(!!skipAuto)(
    `--userns auto: uid 0 inside is the minidock range outside; files it makes are its own (${skipAuto || 'range found'})`,
    () => {
      const r = run([
        '--userns',
        'auto',
        ROOTFS,
        'sh',
        '-c',
        'id -u; id -g; cat /proc/self/uid_map; touch /made; ls -ln /made',
      ]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const [uid, gid, map, ls] = r.stdout.trim().split('\n');
      expect([uid, gid]).toEqual(['0', '0']);
      expect(map!.trim().split(/\s+/)).toEqual(['0', String(auto!.start), String(Math.min(auto!.count, 65536))]);
      // ls -ln inside: the file the container created belongs to 0
      expect(ls!.trim().split(/\s+/).slice(2, 4)).toEqual(['0', '0']);
    },
  );

  // The rootfs's own files (host root's): without the idmapped lower layer they showed as 65534 and a
  // write into /tmp failed (overlayfs cannot copy up a directory whose owner is unmapped: EOVERFLOW).
  const skipIdmap =
    skipAuto ||
    (kernelIdmapsOverlayLayers() ? '' : `Linux ${release()} has no idmapped layers under overlayfs (5.19 has)`);
  it.skipIf(!!skipIdmap)(
    `--userns auto: the rootfs's files are root's inside (idmapped lower layer): /tmp is writable, the copy-up is the mapped root's on the host, ./rootfs unchanged (${skipIdmap || `Linux ${release()}`})`,
    () => {
      const before = statSync(join(ROOTFS, 'tmp'));
      const r = minidock(
        [
          'run',
          '--userns',
          'auto',
          ROOTFS,
          'sh',
          '-c',
          'echo x > /tmp/x && cat /tmp/x; ls -lnd / /bin /etc /tmp /bin/busybox',
        ],
        { root },
      );
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const [content, ...ls] = r.stdout.trim().split('\n');
      expect(content).toBe('x');
      expect(ls).toHaveLength(5);
      // owner and group columns of `ls -ln`: 0 0 for each (before: 65534 65534 for all but /, the upper layer's root)
      for (const line of ls)
        expect(line.trim().split(/\s+/).slice(2, 4)).toEqual([String(before.uid), String(before.gid)]);
      const [id] = readdirSync(join(root, 'containers')).filter((n) => /^[0-9a-f]{64}$/.test(n));
      const upper = join(root, 'containers', id!, 'upper');
      for (const p of ['tmp', 'tmp/x']) {
        const st = statSync(join(upper, p));
        expect([p, st.uid, st.gid]).toEqual([p, auto!.start + before.uid, autoG!.start + before.gid]);
      }
      const after = statSync(join(ROOTFS, 'tmp'));
      expect([after.uid, after.gid, after.mode]).toEqual([before.uid, before.gid, before.mode]);
      expect(() => statSync(join(ROOTFS, 'tmp', 'x'))).toThrow();
      expect(minidock(['rm', id!], { root }).code).toBe(0);
    },
  );

  it.skipIf(!!skipAuto)(
    `--userns auto: a file made in a -v mount is the mapped uid's on the host; a root-owned 0644 host file cannot be written (${skipAuto || 'range found'})`,
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'minidock-userns-'));
      try {
        chmodSync(dir, 0o755);
        chownSync(dir, auto!.start, autoG!.start); // the container's root may write here: it is its own
        const hostFile = join(dir, 'host-owned');
        writeFileSync(hostFile, 'host\n', { mode: 0o644 });
        chownSync(hostFile, 0, 0);
        const r = run([
          '--userns',
          'auto',
          '-v',
          `${dir}:/data`,
          ROOTFS,
          'sh',
          '-c',
          'echo x > /data/new; echo changed > /data/host-owned && echo WROTE || echo REFUSED; ls -ln /data/host-owned',
        ]);
        expect(r.code).toBe(0);
        const st = statSync(join(dir, 'new'));
        expect([st.uid, st.gid]).toEqual([auto!.start, autoG!.start]);
        expect(r.stdout).toContain('REFUSED');
        expect(readFileSync(hostFile, 'utf8')).toBe('host\n');
        // inside, the host's root is unmapped: it shows as the overflow id
        expect(r.stdout).toMatch(/\b65534\s+65534\b/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it.skipIf(!!skipAuto)(
    `--userns auto: root inside mounts and sets the hostname in its own namespaces, but mknod (a host power) is refused; with the host's ids it is not (${skipAuto || 'range found'})`,
    () => {
      const host = readFileSync('/proc/sys/kernel/hostname', 'utf8');
      const script =
        'mkdir /t && mount -t tmpfs none /t && echo MOUNT-OWN-OK; hostname inside-ns && echo HOSTNAME-OWN-OK; mknod /mk c 1 3 2>/dev/null && echo MKNOD-OK || echo MKNOD-REFUSED';
      const caps = ['--cap-add', 'SYS_ADMIN', '--security-opt', 'seccomp=unconfined'];
      const userns = run(['--userns', 'auto', ...caps, ROOTFS, 'sh', '-c', script]);
      expect(userns.stdout.trim().split('\n')).toEqual(['MOUNT-OWN-OK', 'HOSTNAME-OWN-OK', 'MKNOD-REFUSED']);
      // the control: the same container with the host's ids may mknod (CAP_MKNOD of Docker's default set)
      const hostIds = run(['--userns', 'host', ...caps, ROOTFS, 'sh', '-c', script]);
      expect(hostIds.stdout.trim().split('\n')).toEqual(['MOUNT-OWN-OK', 'HOSTNAME-OWN-OK', 'MKNOD-OK']);
      expect(readFileSync('/proc/sys/kernel/hostname', 'utf8')).toBe(host);
    },
  );

  // An image (one layer: a tar of ./rootfs imported): its layers are in the store, 0700 root's; the
  // container's mapped root reaches them through the idmapped store, mounted only in its own mount
  // namespace (userns.ts layerStoreOf). The store is as it was after.
  it.skipIf(!!skipIdmap)(
    `run IMAGE --userns auto: uid 0, the image's files root's inside, /tmp writable, the store unchanged; --dry-run shows the map step; a 2-layer image refused in one line (${skipIdmap || `Linux ${release()}`})`,
    () => {
      const tar = join(root, '..', `userns-image-${process.pid}.tar`);
      execFileSync('tar', ['-C', ROOTFS, '-cf', tar, '.']);
      try {
        const imp = minidock(['import', '-q', tar, 'usernsimg:1'], { root });
        expect(imp.code, imp.stderr).toBe(0);
      } finally {
        rmSync(tar, { force: true });
      }
      const store = (): string[] =>
        execFileSync('find', [join(root, 'layers'), '-printf', '%p %U %G %m %s\n'], { encoding: 'utf8' })
          .split('\n')
          .sort();
      const storeBefore = store();
      const r = run([
        '--userns',
        'auto',
        'usernsimg:1',
        'sh',
        '-c',
        'id -u; echo x > /tmp/x && cat /tmp/x; ls -lnd /bin/busybox /etc /tmp/x',
      ]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const [uid, x, ...ls] = r.stdout.trim().split('\n');
      expect([uid, x]).toEqual(['0', 'x']);
      for (const line of ls) expect(line.trim().split(/\s+/).slice(2, 4)).toEqual(['0', '0']);
      expect(store()).toEqual(storeBefore);
      expect(statSync(join(root, 'layers')).mode & 0o777).toBe(0o700);

      // --dry-run: the clone with CLONE_NEWUSER, and the map step minidock does while the child waits
      const dry = minidock(['run', '--dry-run', '--userns', 'auto', 'usernsimg:1', 'true'], { root });
      expect(dry.code).toBe(0);
      expect(dry.stdout).toMatch(/clone\([^)]*CLONE_NEWUSER/);
      expect(dry.stdout).toContain(
        `meanwhile: printf "0 ${auto!.start} ${Math.min(auto!.count, 65536)}\\n" > /proc/PID/uid_map`,
      );
      expect(dry.stdout).toContain(
        `printf "0 ${autoG!.start} ${Math.min(autoG!.count, 65536)}\\n" > /proc/PID/gid_map`,
      );

      // two layers (a commit over it): refused before anything is made, one line, 125
      const kept = minidock(['run', '--name', 'usernsbase', 'usernsimg:1', 'touch', '/added'], { root });
      expect(kept.code).toBe(0);
      expect(minidock(['commit', 'usernsbase', 'usernsimg:2'], { root }).code).toBe(0);
      expect(minidock(['rm', 'usernsbase'], { root }).code).toBe(0);
      const two = run(['--userns', 'auto', 'usernsimg:2', 'true']);
      expect(two.code).toBe(125);
      expect(two.stderr).toMatch(/^minidock: an image of 2 layers with a user namespace: .*user\.overlay/);
      expect(two.stderr.trim().split('\n')).toHaveLength(1);
      // (the images and their layers stay in this file's state root, removed with it)
    },
  );

  it.skipIf(!!skipAuto)(
    `--userns auto with a -v source the mapped root cannot reach: one line naming the directory, 125, no container directory left (${skipAuto || 'range found'})`,
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'minidock-userns-closed-')); // 0700, root's
      try {
        mkdirSync(join(dir, 'data'));
        const r = run(['--userns', 'auto', '-v', `${join(dir, 'data')}:/data`, ROOTFS, 'true']);
        expect(r.code).toBe(125);
        expect(r.stderr).toBe(
          `minidock: ${dir} is mode 0700: the container's root (host uid ${auto!.start} in its user namespace) cannot pass through it to reach ${join(dir, 'data')} — chmod o+x ${dir}, or use a path it can reach\n`,
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it('--uidmap: each container uid mapped once, root mapped; one line, exit 125, nothing left behind', () => {
    const before = hostSnapshot(root);
    const cases: Array<[string[], RegExp]> = [
      [['--uidmap', '0:100000'], /--uidmap 0:100000: use CONTAINER:HOST:SIZE/],
      [['--uidmap', '0:100000:0'], /SIZE must be at least 1/],
      [
        ['--uidmap', '0:100000:1000', '--uidmap', '500:300000:10'],
        /overlap on the container side \(0-999 and 500-509\)/,
      ],
      [['--uidmap', '0:100000:1000', '--uidmap', '2000:100500:10'], /overlap on the host side/],
      [['--uidmap', '1:100000:1000'], /container uid 0 is not mapped/],
      [['--userns', 'auto', '--uidmap', '0:100000:1'], /give one or the other/],
      [['--userns', 'private'], /--userns private: use --userns host/],
    ];
    for (const [flags, msg] of cases) {
      const r = run([...flags, ROOTFS, 'true']);
      expect(r.code, flags.join(' ')).toBe(125);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^minidock: /);
    }
    expect(hostSnapshot(root)).toEqual(before);
  });

  it('--uidmap/--gidmap: the given map, and the kept container shows it until rm', () => {
    const r = minidock(
      [
        'run',
        '--uidmap',
        '0:200000:1000',
        '--gidmap',
        '0:210000:1000',
        ROOTFS,
        'sh',
        '-c',
        'cat /proc/self/uid_map /proc/self/gid_map; touch /f; stat -c "%u %g" /f',
      ],
      { root },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/).join(' '));
    expect(lines).toEqual(['0 200000 1000', '0 210000 1000', '0 0']);
    // outside, the file in the kept upper layer belongs to the mapped ids
    const [id] = readdirSync(join(root, 'containers')).filter((n) => /^[0-9a-f]{64}$/.test(n));
    const st = statSync(join(root, 'containers', id!, 'upper', 'f'));
    expect([st.uid, st.gid]).toEqual([200000, 210000]);
    expect(minidock(['rm', id!], { root }).code).toBe(0);
  });

  it.skipIf(!!skipAuto)(
    `run -d and exec: the map is written before the monitor releases the child; exec joins the user namespace (${skipAuto || 'range found'})`,
    () => {
      const d = minidock(['run', '-d', '--userns', 'auto', ROOTFS, 'sleep', '30'], { root });
      expect(d.stderr).toBe('');
      const id = d.stdout.trim();
      try {
        const e = minidock(['exec', id, 'sh', '-c', 'id -u; cat /proc/self/uid_map'], { root });
        expect(e.code).toBe(0);
        const [uid, map] = e.stdout.trim().split('\n');
        expect(uid).toBe('0');
        expect(map!.trim().split(/\s+/)[1]).toBe(String(auto!.start));
      } finally {
        expect(minidock(['rm', '-f', id], { root }).code).toBe(0);
      }
    },
  );
});

// Rootless: a normal user, no sudo. The test makes the user (useradd) and removes it (userdel, and
// its /etc/subuid and /etc/subgid lines) in afterAll.
const unprivUserns = readNum('/proc/sys/kernel/unprivileged_userns_clone'); // Debian's switch; absent upstream
const apparmorUserns = readNum('/proc/sys/kernel/apparmor_restrict_unprivileged_userns'); // Ubuntu 24.04's
const haveHelpers = ['newuidmap', 'newgidmap'].every((b) => spawnSync('sh', ['-c', `command -v ${b}`]).status === 0);
const skipRootless =
  skip ||
  (unprivUserns === 0
    ? 'normal users may not make user namespaces (kernel.unprivileged_userns_clone=0)'
    : apparmorUserns === 1
      ? 'AppArmor refuses normal users user namespaces (kernel.apparmor_restrict_unprivileged_userns=1)'
      : spawnSync('sh', ['-c', 'command -v useradd && command -v userdel && command -v runuser']).status !== 0
        ? 'useradd, userdel or runuser missing'
        : '');
if (skipRootless && !skip) console.warn(`SKIPPED rootless tests of test/integration/userns.test.ts: ${skipRootless}`);

describe.skipIf(!!skipRootless)('rootless: a normal user runs containers', () => {
  const user = `mdrl${process.pid % 100000}`;
  let uid = -1;
  let xdg = '';
  let install = ''; // minidock and ./rootfs where the user can read them
  const dropIdLines = (): void => {
    for (const f of ['/etc/subuid', '/etc/subgid']) {
      writeFileSync(
        f,
        readFileSync(f, 'utf8')
          .split('\n')
          .filter((l) => !l.startsWith(`${user}:`))
          .join('\n'),
      );
    }
  };
  // cgroup: a cgroup v2 directory (its cgroup.procs) this process moves itself into before it
  // becomes the user (a normal user may not move itself out of root's cgroups: the kernel asks for
  // write access to the common ancestor's cgroup.procs), as systemd starts a user's manager in user@UID.service
  const asUser = (args: string[], cgroup?: string) =>
    spawnSync(
      cgroup ? 'sh' : 'runuser',
      [
        ...(cgroup ? ['-c', 'echo $$ > "$0" && exec "$@"', join(cgroup, 'cgroup.procs'), 'runuser'] : []),
        '-u',
        user,
        '--',
        'env',
        '-u',
        'MINIDOCK_ROOT',
        '-u',
        'MINIDOCK_CGROUP_PARENT',
        `XDG_RUNTIME_DIR=${xdg}`,
        process.execPath,
        join(install, 'bin', 'minidock.js'),
        ...args,
      ],
      { encoding: 'utf8', cwd: '/', timeout: 60_000 },
    );
  const leftovers = (): string[] => {
    let dirs: string[] = [];
    try {
      dirs = readdirSync(join(xdg, 'minidock', 'containers'));
    } catch {
      /* never made */
    }
    const procs = spawnSync('pgrep', ['-u', String(uid)], { encoding: 'utf8' }).stdout.trim();
    return [...dirs, ...(procs ? [`processes: ${procs}`] : [])];
  };

  beforeAll(() => {
    execFileSync('useradd', ['--no-create-home', '--shell', '/bin/sh', user]);
    uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
    dropIdLines(); // (useradd may have given it a range: each test chooses)
    xdg = mkdtempSync(join(tmpdir(), 'minidock-xdg-'));
    chownSync(xdg, uid, uid);
    // The build where the user can read it: in place when it can, else a copy (as run.test.ts does for nobody).
    const canRead =
      spawnSync('runuser', ['-u', user, '--', 'test', '-r', BIN, '-a', '-x', join(ROOTFS, 'bin', 'busybox')]).status ===
      0;
    if (canRead) {
      install = join(BIN, '..', '..');
    } else {
      install = mkdtempSync(join(tmpdir(), 'minidock-rootless-'));
      chmodSync(install, 0o755);
      for (const f of ['bin', 'dist', 'package.json', 'native/build', 'rootfs'])
        cpSync(join(BIN, '..', '..', f), join(install, f), { recursive: true });
    }
    console.log(`rootless: user ${user} (uid ${uid}), the build ${canRead ? 'in place' : 'copied to ' + install}`);
  });
  afterAll(() => {
    spawnSync('pkill', ['-KILL', '-u', String(uid)]);
    spawnSync('userdel', [user]);
    dropIdLines();
    if (xdg) rmSync(xdg, { recursive: true, force: true });
    if (install && install !== join(BIN, '..', '..')) rmSync(install, { recursive: true, force: true });
  });

  it('without an /etc/subuid range: a single-id map, said in one line; uid 0 inside; nothing left', () => {
    dropIdLines();
    const r = asUser(['run', '--rm', join(install, 'rootfs'), 'sh', '-c', 'id -u; cat /proc/self/uid_map']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^minidock: rootless with one id: no range for mdrl\d+ in \/etc\/subuid/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    const [id, map] = r.stdout.trim().split('\n');
    expect(id).toBe('0');
    expect(map!.trim().split(/\s+/)).toEqual(['0', String(uid), '1']);
    expect(leftovers()).toEqual([]);
  });

  it.skipIf(!haveHelpers)(
    `with an /etc/subuid range: newuidmap maps 0 to the user and 1.. to the range; a -v file is the user's; nothing left (${haveHelpers ? 'newuidmap found' : 'newuidmap/newgidmap not installed: apt-get install uidmap'})`,
    () => {
      const text = readFileSync('/etc/subuid', 'utf8') + readFileSync('/etc/subgid', 'utf8');
      const start = Math.max(
        100000,
        ...text
          .split('\n')
          .map((l) => l.split(':'))
          .filter((p) => p.length === 3)
          .map((p) => Number(p[1]) + Number(p[2])),
      );
      for (const f of ['/etc/subuid', '/etc/subgid'])
        writeFileSync(f, readFileSync(f, 'utf8').replace(/\n?$/, '\n') + `${user}:${start}:65536\n`);
      const vol = mkdtempSync(join(tmpdir(), 'minidock-rlvol-'));
      try {
        chownSync(vol, uid, uid);
        const r = asUser([
          'run',
          '--rm',
          '-v',
          `${vol}:/data`,
          join(install, 'rootfs'),
          'sh',
          '-c',
          'id -u; cat /proc/self/uid_map; touch /data/made',
        ]);
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        const lines = r.stdout
          .trim()
          .split('\n')
          .map((l) => l.trim().split(/\s+/).join(' '));
        expect(lines).toEqual(['0', `0 ${uid} 1`, `1 ${start} 65535`]);
        expect(statSync(join(vol, 'made')).uid).toBe(uid);
        expect(leftovers()).toEqual([]);
      } finally {
        dropIdLines();
        rmSync(vol, { recursive: true, force: true });
      }
    },
  );

  // cgroup v2: a subtree delegated as systemd delegates user@UID.service (the directory, its
  // cgroup.procs, cgroup.subtree_control and cgroup.threads chowned to the user; the controllers
  // enabled above it by root), the user's minidock started in a leaf of it. The container's cgroup
  // is then made beside that leaf, by the user, and -m is enforced there (cgroups/none.ts).
  const cg = detectCgroups();
  const v2root = cg.mode === 'v2' ? cg.mounts.v2?.mountPoint : undefined;
  const rootOffers = (c: string): boolean =>
    !!v2root && readFileSync(join(v2root, 'cgroup.subtree_control'), 'utf8').split(/\s+/).includes(c);
  const skipDeleg = !v2root
    ? `cgroup ${cg.mode}: a normal user has no cgroup to be delegated here (npm run test:v2 runs this on v2)`
    : !rootOffers('memory') || !rootOffers('pids')
      ? 'cgroup v2 without memory and pids enabled at the root'
      : '';
  it.skipIf(!!skipDeleg)(
    `cgroup v2, a delegated subtree: -m and --pids-limit enforced in a cgroup the user made beside its own; removed after (${skipDeleg || 'cgroup v2'})`,
    () => {
      const deleg = join(v2root!, `mdrl-deleg-${process.pid}`);
      const leaf = join(deleg, 'shell');
      mkdirSync(deleg);
      mkdirSync(leaf);
      for (const f of ['', 'cgroup.procs', 'cgroup.subtree_control', 'cgroup.threads'])
        chownSync(join(deleg, f), uid, uid);
      for (const f of ['', 'cgroup.procs', 'cgroup.threads']) chownSync(join(leaf, f), uid, uid);
      const kids = (): string[] =>
        readdirSync(deleg, { withFileTypes: true })
          .filter((d) => d.isDirectory())
          .map((d) => d.name);
      try {
        const script =
          'head -c 100m /dev/zero | tail; echo rc=$?; cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max; cat /proc/self/cgroup';
        const r = asUser(
          [
            'run',
            '--rm',
            '-m',
            '50M',
            '--memory-swap',
            '50M',
            '--pids-limit',
            '20',
            join(install, 'rootfs'),
            'sh',
            '-c',
            script,
          ],
          leaf,
        );
        // stderr: the single-id line (no /etc/subuid range here), busybox's "Killed", and minidock's OOM report from the cgroup
        expect(r.stderr).toMatch(/^minidock: rootless with one id: /);
        expect(r.stderr).toMatch(
          /^minidock: out of memory inside the container \(limit 50\.0 MiB, peak \d+\.\d MiB\)/m,
        );
        expect(r.status).toBe(0);
        // the OOM killer stopped tail at the limit (137 = 128 + SIGKILL); the container saw its own limits, its cgroup as its root
        expect(r.stdout.trim().split('\n')).toEqual(['rc=137', '52428800', '20', '0::/']);
        // the container's cgroup was the user's, beside the leaf; gone with --rm
        expect(kids()).toEqual(['shell']);
        // without a limit: a cgroup there too (ps/stats/kill of its processes), no refusal line
        const plain = asUser(['run', '--rm', join(install, 'rootfs'), 'cat', '/sys/fs/cgroup/memory.max'], leaf);
        expect([plain.status, plain.stdout.trim()]).toEqual([0, 'max']);
        expect(plain.stderr.trim().split('\n')).toHaveLength(1); // (the single-id line only: no refusal)
        expect(kids()).toEqual(['shell']);
        expect(leftovers()).toEqual([]);
      } finally {
        for (const d of [
          ...kids()
            .filter((k) => k !== 'shell')
            .map((k) => join(deleg, k)),
          leaf,
          deleg,
        ]) {
          for (let i = 0; i < 50; i++) {
            try {
              rmdirSync(d);
              break;
            } catch {
              spawnSync('sleep', ['0.1']); // (the leaf empties when the wrapper's last process has exited)
            }
          }
        }
      }
    },
  );

  it('a limit flag is refused in one line (no cgroup of its own), exit 125, nothing made', () => {
    const r = asUser(['run', '--rm', '-m', '50M', join(install, 'rootfs'), 'true']);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/^minidock: memory: a rootless container has no cgroup of its own \(cgroup v[12]: /);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(leftovers()).toEqual([]);
  });
});
