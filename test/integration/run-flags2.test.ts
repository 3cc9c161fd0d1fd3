// run's Docker flags of issue 19, part 2, on the real kernel as root: --tmpfs (its size in df, its
// flags in mountinfo), --mount (a read-only bind refuses writes; a tmpfs), named volumes (data kept
// across two containers and after rm, `volume rm` refused while a container uses one, rm -v, the
// volume verbs), --device (the node works, another device is refused by the device cgroup),
// --sysctl (net.* changed inside only, kernel.* refused), --init (reaps an orphan; stops on SIGTERM
// within a second, where `sh` as PID 1 ignores it until SIGKILL), --cgroupns host (/proc/self/cgroup
// shows the host's path). Bad values: one line, 125, nothing left. useLeakCheckedRoot compares
// mounts, cgroups and container directories around each test; volumes are checked by each test.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canRun, minidock, pidsMatching, ROOTFS, skipReason, useLeakCheckedRoot } from '../helpers';

const built = existsSync(join(__dirname, '..', '..', 'native', 'build', 'minidock-init'));

describe.skipIf(!canRun)(
  `run --tmpfs, --mount, volumes, --device, --sysctl, --init, --cgroupns${canRun ? '' : ` (skipped: ${skipReason})`}`,
  () => {
    let root = '';
    useLeakCheckedRoot((r) => (root = r));
    const md = (args: string[]) => minidock(args, { root });
    const volumes = (): string[] => {
      try {
        return readdirSync(join(root, 'volumes')).sort();
      } catch {
        return [];
      }
    };
    const refused = (args: string[], re: RegExp): void => {
      const before = volumes();
      const r = md(args);
      expect(r.stderr).toMatch(re);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.code).toBe(125);
      expect(volumes()).toEqual(before); // nothing made
    };
    const pidOf = (name: string): number => JSON.parse(md(['inspect', name]).stdout)[0].State.Pid;

    it('--tmpfs: a tmpfs of the given size (df), noexec,nosuid,nodev by default, exec when asked', () => {
      const r = md([
        'run',
        '--rm',
        '--tmpfs',
        '/run:size=8m,mode=1770',
        '--mount',
        'type=tmpfs,target=/scratch,tmpfs-size=4m',
        '--tmpfs',
        '/x:exec',
        ROOTFS,
        'sh',
        '-c',
        'df -k /run /scratch | tail -2; grep -E " /(run|scratch|x) " /proc/self/mountinfo; stat -c %a /run',
      ]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const [run, scratch] = r.stdout.split('\n');
      expect(run).toMatch(/^tmpfs\s+8192\s/);
      expect(scratch).toMatch(/^tmpfs\s+4096\s/);
      expect(r.stdout).toMatch(/ \/run rw,nosuid,nodev,noexec\S* - tmpfs tmpfs rw,size=8192k,mode=1770/);
      expect(r.stdout).toMatch(/ \/x rw,nosuid,nodev,\S*(?<!noexec) - tmpfs/);
      expect(r.stdout.trim().split('\n').at(-1)).toBe('1770');
    });

    it('--mount type=bind,readonly refuses writes; without readonly they reach the host', () => {
      const dir = mkdtempSync(join(tmpdir(), 'md-mount-'));
      try {
        writeFileSync(join(dir, 'in'), 'from host\n');
        const ro = md([
          'run',
          '--rm',
          '--mount',
          `type=bind,source=${dir},target=/h,readonly`,
          ROOTFS,
          'sh',
          '-c',
          'cat /h/in; echo x > /h/out',
        ]);
        expect(ro.stdout).toBe('from host\n');
        expect(ro.stderr).toMatch(/Read-only file system/);
        expect(ro.code).not.toBe(0);
        expect(existsSync(join(dir, 'out'))).toBe(false);
        const rw = md(['run', '--rm', '--mount', `type=bind,src=${dir},dst=/h`, ROOTFS, 'sh', '-c', 'echo x > /h/out']);
        expect(rw.code).toBe(0);
        expect(readFileSync(join(dir, 'out'), 'utf8')).toBe('x\n');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('a named volume keeps its data across two containers and after rm; volume rm is refused while one uses it', () => {
      const w = md(['run', '--name', 'writer', '-v', 'keep:/data', ROOTFS, 'sh', '-c', 'echo kept > /data/f']);
      expect(w.stderr).toBe('');
      expect(w.code).toBe(0);
      expect(volumes()).toEqual(['keep']);
      const r = md(['run', '--rm', '--mount', 'type=volume,source=keep,target=/v,readonly', ROOTFS, 'cat', '/v/f']);
      expect(r.stdout).toBe('kept\n');
      // the exited writer still uses it
      refused(['volume', 'rm', 'keep'], /^minidock: volume keep is in use by container\(s\) writer: remove them first/);
      expect(JSON.parse(md(['volume', 'inspect', 'keep']).stdout)[0]).toMatchObject({
        Name: 'keep',
        Driver: 'local',
        Mountpoint: join(root, 'volumes/keep/_data'),
        UsedBy: ['writer'],
      });
      expect(md(['rm', 'writer']).code).toBe(0);
      expect(md(['volume', 'ls', '-q']).stdout).toBe('keep\n');
      expect(md(['run', '--rm', '-v', 'keep:/data', ROOTFS, 'cat', '/data/f']).stdout).toBe('kept\n');
      expect(md(['volume', 'rm', 'keep'])).toMatchObject({ code: 0, stdout: 'keep\n' });
      expect(volumes()).toEqual([]);
    });

    it('rm -v removes the volume its run made, not one of volume create; prune removes the unused', () => {
      expect(md(['volume', 'create', '--label', 'team=a', 'made']).stdout).toBe('made\n');
      expect(md(['run', '--name', 'user', '-v', 'made:/a', '-v', 'byrun:/b', ROOTFS, 'true']).code).toBe(0);
      expect(volumes()).toEqual(['byrun', 'made']);
      expect(md(['rm', '-v', 'user']).code).toBe(0);
      expect(volumes()).toEqual(['made']);
      expect(JSON.parse(md(['volume', 'inspect', 'made']).stdout)[0].Labels).toEqual({ team: 'a' });
      expect(md(['volume', 'prune', '-f']).stdout).toMatch(/^Deleted Volumes:\nmade\n\nTotal reclaimed space: /);
      expect(volumes()).toEqual([]);
    });

    it('--device /dev/null:/dev/mynull works; a device it was not given is refused by the device cgroup', () => {
      const r = md([
        'run',
        '--rm',
        '--device',
        '/dev/null:/dev/mynull',
        ROOTFS,
        'sh',
        '-c',
        'stat -c "%F %t:%T" /dev/mynull; echo x > /dev/mynull && echo wrote; mknod /tmp/mem c 1 1 && head -c1 /tmp/mem; echo "rc=$?"',
      ]);
      expect(r.stdout).toBe('character special file 1:3\nwrote\nrc=1\n');
      expect(r.stderr).toMatch(/\/tmp\/mem: Operation not permitted/);
    });

    it("--sysctl net.ipv4.ip_forward=1 changes the container's copy only; kernel.* is refused", () => {
      const host = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8');
      const want = host.trim() === '1' ? '0' : '1';
      const r = md([
        'run',
        '--rm',
        '--sysctl',
        `net.ipv4.ip_forward=${want}`,
        ROOTFS,
        'cat',
        '/proc/sys/net/ipv4/ip_forward',
      ]);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(`${want}\n`);
      expect(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8')).toBe(host);
      refused(
        ['run', '--rm', '--sysctl', 'kernel.panic=1', ROOTFS, 'true'],
        /^minidock: --sysctl kernel.panic=1: kernel.panic is not namespaced/,
      );
      refused(
        ['run', '--rm', '--network', 'host', '--sysctl', 'net.ipv4.ip_forward=1', ROOTFS, 'true'],
        /with --network host: that is the host's network namespace/,
      );
    });

    it.skipIf(!built)('--init reaps an orphan, which `sleep` as PID 1 leaves a zombie', () => {
      const states = (name: string): string[] => {
        const pid = pidOf(name);
        const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
        return kids.map((k) => /State:\s+(\S)/.exec(readFileSync(`/proc/${k}/status`, 'utf8'))![1]);
      };
      const cmd = ['sh', '-c', '(sleep 0.1 &); exec sleep 30'];
      expect(md(['run', '-d', '--name', 'plain', ROOTFS, ...cmd]).code).toBe(0);
      expect(md(['run', '-d', '--init', '--name', 'withinit', ROOTFS, ...cmd]).code).toBe(0);
      try {
        const until = Date.now() + 5000;
        while (!states('plain').includes('Z') && Date.now() < until) spawnWait(50);
        expect(states('plain')).toEqual(['Z']); // the orphan, re-parented to PID 1, never reaped
        expect(readFileSync(`/proc/${pidOf('withinit')}/comm`, 'utf8')).toBe('init\n');
        expect(states('withinit')).toEqual(['S']); // only the command (sleep 30): the orphan was reaped
      } finally {
        md(['rm', '-f', 'plain', 'withinit']);
      }
      // (a leak stays; seen once in a full run: one `sleep 30` still listed right after rm -f had
      // returned, and gone when looked at later. Why is not known: up to 2 s for it to go)
      const until = Date.now() + 2000;
      while (pidsMatching('sleep 30').length && Date.now() < until) spawnWait(50);
      expect(pidsMatching('sleep 30')).toEqual([]);
    });

    it.skipIf(!built)('--init stops on SIGTERM within a second; `sh` as PID 1 ignores it until SIGKILL', () => {
      const stopTime = (init: boolean, name: string): { ms: number; exit: number } => {
        expect(
          md(['run', '-d', ...(init ? ['--init'] : []), '--name', name, ROOTFS, 'sh', '-c', 'sleep 31']).code,
        ).toBe(0);
        const t0 = Date.now();
        expect(md(['stop', '-t', '3', name]).code).toBe(0);
        const ms = Date.now() - t0;
        const exit = JSON.parse(md(['inspect', name]).stdout)[0].State.ExitCode;
        md(['rm', name]);
        return { ms, exit };
      };
      const withInit = stopTime(true, 'term-init');
      expect(withInit.ms).toBeLessThan(1000);
      expect(withInit.exit).toBe(143); // the command's death by SIGTERM, passed on by init
      const plain = stopTime(false, 'term-plain');
      expect(plain.ms).toBeGreaterThanOrEqual(3000);
      expect(plain.exit).toBe(137); // SIGKILL after the grace period
      expect(pidsMatching('sleep 31')).toEqual([]);
    });

    it("--cgroupns host: /proc/self/cgroup shows the host's path of the container's cgroup; private shows /", () => {
      const host = md(['run', '--rm', '--cgroupns', 'host', ROOTFS, 'cat', '/proc/self/cgroup']);
      expect(host.stderr).toBe('');
      expect(host.stdout).toMatch(/^\d+:[^:]*pids[^:]*:\/.*\/minidock-[0-9a-f]{12}$|^0::\/.*\/minidock-[0-9a-f]{12}$/m);
      const own = md(['run', '--rm', ROOTFS, 'cat', '/proc/self/cgroup']);
      expect(own.stdout).toMatch(/^\d+:[^:]*pids[^:]*:\/$|^0::\/$/m);
      expect(own.stdout).not.toMatch(/minidock-/);
      refused(['run', '--rm', '--cgroupns', 'shared', ROOTFS, 'true'], /^minidock: --cgroupns shared: use private/);
    });

    it('bad values: one line, 125, nothing left (a named volume among them is not made)', () => {
      const cases: Array<[string[], RegExp]> = [
        [['--tmpfs', '/run:foo=1'], /^minidock: --tmpfs \/run:foo=1: unknown tmpfs option "foo=1"/],
        [
          ['--mount', 'type=nfs,target=/x'],
          /^minidock: --mount type=nfs,target=\/x: type=nfs: use bind, volume or tmpfs/,
        ],
        [['--mount', 'type=volume,target=/x'], /minidock has no anonymous volumes/],
        [['-v', './rel:/x'], /"\.\/rel" is not a valid volume name/],
        [['--device', '/etc/hostname'], /is not a device node/],
        [['--device', '/dev/null:/dev/x:rwx'], /permissions "rwx"/],
        [['--sysctl', 'vm.swappiness=1'], /is not namespaced/],
        [['-v', 'later:/x', '--tmpfs', '/y:size=big'], /size= takes bytes/],
      ];
      for (const [flags, re] of cases) refused(['run', '--rm', ...flags, ROOTFS, 'true'], re);
      expect(volumes()).toEqual([]);
    });

    it('--dry-run shows the steps (and makes no volume)', () => {
      const r = md([
        'run',
        '--dry-run',
        '--init',
        '-v',
        'dry:/data',
        '--tmpfs',
        '/run:size=1m',
        '--device',
        '/dev/null:/dev/mynull',
        '--sysctl',
        'net.ipv4.ip_forward=1',
        '--cgroupns',
        'host',
        ROOTFS,
        'true',
      ]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/# minidock: volume dry is .*\/volumes\/dry\/_data — created with the container/);
      expect(r.stdout).toMatch(/mount\("tmpfs", "\S+\/run", "tmpfs", MS_NOSUID\|MS_NODEV\|MS_NOEXEC, "size=1m"\)/);
      expect(r.stdout).toMatch(/write\("\/proc\/sys\/net\/ipv4\/ip_forward", "1"\)/);
      expect(r.stdout).toMatch(/mknod\("\/dev\/mynull", 020\d+, makedev\(1, 3\)\)/);
      expect(r.stdout).toMatch(/execve\("\/dev\/init", \["\/dev\/init", "--", "true"\]/);
      expect(r.stdout).not.toMatch(/CLONE_NEWCGROUP/);
      expect(volumes()).toEqual([]);
    });
  },
);

/** A short synchronous pause (the test polls /proc). */
function spawnWait(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
