// minidock-oci create/start/run/kill/delete through the real binary on a bundle made here (the
// project's busybox rootfs copied in, config.json from `minidock-oci spec` with args adjusted):
// create leaves a process held in the exec.fifo open (not exec'd) and exits; start lets it run;
// run waits and returns its status; the bad inputs answer one line, exit 1 and leave nothing (no
// cgroup, fifo, process or state dir: hostSnapshot before/after). The same sequence under runc where
// it is installed.
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { canRun, hostSnapshot, minidockCgroups, ROOTFS, skipReason, waitFor } from '../helpers';

const BIN = join(__dirname, '../../bin/minidock-oci.js');
const hasRunc = spawnSync('runc', ['--version']).status === 0;

let dir: string;
let root: string;
let bundle: string;
let outFile: string;

/** Run a runtime with its stdout/stderr in a file: the container inherits them (as from runc), so a
 * pipe would stay open as long as the container runs. */
function runtime(bin: string, args: string[], timeout = 30_000): { code: number | null; out: string } {
  const fd = openSync(outFile, 'w');
  try {
    const r = spawnSync(bin, args, { stdio: ['ignore', fd, fd], timeout });
    return { code: r.status, out: readFileSync(outFile, 'utf8') };
  } finally {
    closeSync(fd);
  }
}
const oci = (args: string[], timeout?: number) => runtime(BIN, ['--root', root, ...args], timeout);

/** config.json from `minidock-oci spec`, with these args, no terminal, a writable rootfs. */
function setConfig(args: string[], edit: (c: any) => void = () => {}): void {
  const c = JSON.parse(readFileSync(join(dir, 'spec', 'config.json'), 'utf8'));
  c.process.args = args;
  c.process.terminal = false;
  c.root.readonly = false;
  edit(c);
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(c));
}
/** The host's mounts and cgroups that this file's containers could leave: the cgroups named after
 * its IDs (minidock-oci-ID, short IDs) and under its cgroupsPath — not those of other tests running
 * meanwhile (Docker-style minidock-<hex>, or runtime-tools' minidock-oci-<uuid>). */
function snapshot() {
  const s = hostSnapshot();
  // and processes whose root is this file's rootfs: a container's (held or running) process
  const procs = readdirSync('/proc').filter(
    (p) =>
      /^\d+$/.test(p) &&
      (() => {
        try {
          return readlinkSync(`/proc/${p}/root`) === join(bundle, 'rootfs');
        } catch {
          return false;
        }
      })(),
  );
  return {
    mounts: s.mounts.filter((m) => m.includes(dir)),
    cgroups: s.cgroups.filter((c) => /\/minidock-oci-(?![0-9a-f]{8}-)|\/minidock-cg1$/.test(c)),
    procs,
  };
}
const statusOf = (id: string) => JSON.parse(oci(['state', id]).out);
const alive = (pid: number) =>
  existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));

describe.skipIf(!canRun)(`minidock-oci create/start/run (${skipReason || 'root'})`, () => {
  let before: ReturnType<typeof snapshot>;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'minidock-oci-run-'));
    root = join(dir, 'state');
    bundle = join(dir, 'bundle');
    outFile = join(dir, 'out.txt');
    cpSync(ROOTFS, join(bundle, 'rootfs'), { recursive: true, verbatimSymlinks: true });
    mkdirSync(join(dir, 'spec'));
    expect(runtime(BIN, ['spec', '--bundle', join(dir, 'spec')]).code).toBe(0);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => {
    before = snapshot();
  });
  afterEach(() => {
    // nothing of the container is left: no cgroup, mount, state dir
    expect(snapshot()).toEqual(before);
    expect(existsSync(root) ? readdirSync(root) : []).toEqual([]);
  });

  it('create --dry-run prints the plan config.json makes and makes nothing; run --trace shows each step', () => {
    setConfig(['/bin/true'], (c) => (c.hostname = 'dry'));
    const dry = oci(['create', '--dry-run', '--bundle', bundle, 'dry1']);
    expect(dry.code).toBe(0);
    expect(dry.out).toMatch(/^# minidock: cgroup v\d/);
    expect(dry.out).toContain('sethostname("dry")');
    expect(dry.out).toMatch(/pivot_root\("\.", "\."\)/);
    expect(dry.out).toContain('blocks until start reads exec.fifo');
    expect(existsSync(join(root, 'dry1'))).toBe(false); // (afterEach: no cgroup, mount, process either)
    const run = oci(['run', '--trace', '--bundle', bundle, 'trace1']);
    expect(run.code).toBe(0);
    expect(run.out).toContain('minidock launch trace');
    expect(run.out).toMatch(/config\.json mapped \(seccomp compiled\)\s+[\d.]+ ms/);
    expect(run.out).toMatch(/^\s+\d+\s+[\d.]+\s+[\d.]+\s+sethostname\("dry"\)$/m); // a step, timed in the child
    expect(oci(['delete', '--force', 'trace1']).code).toBe(0);
  });

  it("create: the init is held in the exec.fifo open (not exec'd); start: it runs; then stopped; delete leaves nothing", async () => {
    rmSync(join(bundle, 'rootfs', 'out'), { force: true });
    setConfig(['sh', '-c', 'echo started > /out; sleep 3']);
    const pidFile = join(dir, 'pid');
    const c = oci(['create', '--bundle', bundle, '--pid-file', pidFile, 'c1']);
    expect(c).toEqual({ code: 0, out: '' });
    const st = statusOf('c1');
    expect(st).toMatchObject({ id: 'c1', status: 'created', bundle });
    expect(Number(readFileSync(pidFile, 'utf8'))).toBe(st.pid);
    // a real process, still minidock's clone (comm "node"), blocked opening the fifo for writing
    expect(alive(st.pid)).toBe(true);
    expect(readFileSync(`/proc/${st.pid}/comm`, 'utf8').trim()).not.toMatch(/^(sh|sleep|busybox)$/);
    expect(readFileSync(`/proc/${st.pid}/wchan`, 'utf8')).toMatch(/fifo|wait_for_partner/);
    expect(existsSync(join(root, 'c1', 'exec.fifo'))).toBe(true);
    expect(existsSync(join(bundle, 'rootfs', 'out'))).toBe(false); // nothing of the program ran
    // its cgroup exists, with the init in it
    const cg = minidockCgroups().filter((d) => d.endsWith('/minidock-oci-c1'));
    expect(cg.length).toBeGreaterThan(0);
    expect(readFileSync(join(cg[0]!, 'cgroup.procs'), 'utf8').split('\n')).toContain(String(st.pid));

    expect(oci(['start', 'c1'])).toEqual({ code: 0, out: '' });
    expect(existsSync(join(root, 'c1', 'exec.fifo'))).toBe(false);
    await waitFor(() => existsSync(join(bundle, 'rootfs', 'out')), 5000, 'the program to write /out');
    expect(readFileSync(join(bundle, 'rootfs', 'out'), 'utf8')).toBe('started\n');
    expect(statusOf('c1')).toMatchObject({ status: 'running', pid: st.pid });
    const again = oci(['start', 'c1']);
    expect(again.code).toBe(1);
    expect(again.out).toMatch(/level=error msg="cannot start an already running container"/);
    await waitFor(() => !alive(st.pid), 8000, 'the program to end');
    expect(statusOf('c1')).toMatchObject({ status: 'stopped', pid: 0 });
    const stopped = oci(['start', 'c1']);
    expect([stopped.code, stopped.out]).toEqual([
      1,
      expect.stringMatching(/cannot start a container that has stopped/),
    ]);
    expect(oci(['delete', 'c1']).code).toBe(0);
    rmSync(pidFile);
  });

  it("run: create + start + wait; the exit status is the program's, and the container is deleted", () => {
    setConfig(['sh', '-c', 'echo out-$((6*7)); exit 3']);
    expect(oci(['run', '--bundle', bundle, 'r1'])).toEqual({ code: 3, out: 'out-42\n' });
    setConfig(['true']);
    expect(oci(['run', '--bundle', bundle, 'r2'])).toEqual({ code: 0, out: '' });
  });

  it('a seccomp profile that refuses close_range, loaded early (noNewPrivileges false): the fds are closed fd by fd instead', () => {
    setConfig(['sh', '-c', 'ls /proc/self/fd | wc -l'], (c) => {
      c.process.noNewPrivileges = false;
      c.linux.seccomp = {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['close_range'], action: 'SCMP_ACT_ERRNO' }],
      };
    });
    // 0, 1, 2 and the directory ls reads: nothing of Node's leaked
    expect(oci(['run', '--bundle', bundle, 'sc1'])).toEqual({ code: 0, out: '4\n' });
  });

  it("process.capabilities.ambient is raised (CapAmb), and /sys is mounted after /dev's mounts, in config.json's order", () => {
    setConfig(['sh', '-c', 'grep CapAmb /proc/self/status; grep -oE " /(dev/mqueue|sys) " /proc/self/mounts'], (c) => {
      c.process.capabilities.ambient = ['CAP_KILL', 'CAP_CHOWN'];
    });
    // CAP_CHOWN = 0, CAP_KILL = 5
    expect(oci(['run', '--bundle', bundle, 'amb'])).toEqual({
      code: 0,
      out: 'CapAmb:\t0000000000000021\n /dev/mqueue \n /sys \n',
    });
  });

  it('run -d, kill (SIGTERM by default: sh as PID 1 ignores it, KILL does not), delete', async () => {
    setConfig(['sleep', '60']);
    expect(oci(['run', '-d', '--bundle', bundle, 'd1'])).toEqual({ code: 0, out: '' });
    const { pid, status } = statusOf('d1');
    expect(status).toBe('running');
    await waitFor(() => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep', 5000, 'sleep to exec');
    const refused = oci(['delete', 'd1']);
    expect(refused.code).toBe(1);
    expect(refused.out).toMatch(/cannot delete container d1 that is not stopped: running/);
    expect(oci(['kill', 'd1', 'KILL']).code).toBe(0);
    await waitFor(() => !alive(pid), 5000, 'the init to die');
    expect(statusOf('d1').status).toBe('stopped');
    expect(oci(['delete', 'd1']).code).toBe(0);
  });

  // (a kernel without user namespaces, or with them turned off, has 0 here)
  const usernsMax = (() => {
    try {
      return Number(readFileSync('/proc/sys/user/max_user_namespaces', 'utf8'));
    } catch {
      return 0;
    }
  })();
  it.skipIf(usernsMax === 0)(
    `a user namespace (uidMappings/gidMappings) in a bundle under a 0700 directory: the mapped root runs, exec joins it (${usernsMax ? 'user namespaces enabled' : 'skipped: /proc/sys/user/max_user_namespaces is 0 or absent'})`,
    async () => {
      // the bundle sits in mkdtemp's 0700 root-owned directory: the mapped root (host uid 1000) cannot search it
      expect(spawnSync('stat', ['-c', '%a %u', dir], { encoding: 'utf8' }).stdout.trim()).toBe('700 0');
      const userns = (c: any): void => {
        c.linux.namespaces.push({ type: 'user' });
        c.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 2000 }];
        c.linux.gidMappings = [{ containerID: 0, hostID: 1000, size: 3000 }];
      };
      // inside: root, the maps as given; the rootfs's files belong to host root, unmapped: nobody (65534)
      setConfig(['sh', '-c', 'id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; stat -c %u /bin'], userns);
      expect(oci(['run', '--bundle', bundle, 'un1'])).toEqual({
        code: 0,
        out: '0\n0\n         0       1000       2000\n         0       1000       3000\n65534\n',
      });
      // outside: the init is host uid 1000, in a user namespace other than ours; exec joins it (root inside, not the host's)
      setConfig(['sleep', '60'], userns);
      expect(oci(['run', '-d', '--bundle', bundle, 'un2'])).toEqual({ code: 0, out: '' });
      const { pid } = statusOf('un2');
      await waitFor(() => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep', 5000, 'sleep to exec');
      expect(readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(/^Uid:\t1000\t1000\t1000\t1000$/m);
      expect(readlinkSync(`/proc/${pid}/ns/user`)).not.toBe(readlinkSync('/proc/self/ns/user'));
      expect(oci(['exec', 'un2', 'sh', '-c', 'id -u; head -1 /proc/self/uid_map'])).toEqual({
        code: 0,
        out: '0\n         0       1000       2000\n',
      });
      expect(oci(['kill', 'un2', 'KILL']).code).toBe(0);
      await waitFor(() => !alive(pid), 5000, 'the init to die');
      expect(oci(['delete', 'un2']).code).toBe(0);
    },
  );

  const hasUnshare = spawnSync('unshare', ['--version']).status === 0;
  it.skipIf(!hasUnshare)(
    `linux.namespaces pid and mount by path (a process unshare made): the init is in that PID namespace (pid 2 there), its mounts in that mount namespace, not the host's, exec joins them (${hasUnshare ? 'unshare' : 'skipped: unshare (util-linux) is not installed'})`,
    async () => {
      const holder = spawn('unshare', ['--pid', '--mount', '--fork', 'sleep', '60'], { stdio: 'ignore' });
      try {
        // the namespaces' first process: unshare's child, PID 1 of the new PID namespace
        let sp = 0;
        await waitFor(
          () => {
            sp =
              Number(readFileSync(`/proc/${holder.pid}/task/${holder.pid}/children`, 'utf8').trim().split(' ')[0]) || 0;
            return sp > 0 && readFileSync(`/proc/${sp}/comm`, 'utf8').trim() === 'sleep';
          },
          5000,
          'unshare to start sleep',
        );
        const joinNs = (c: any): void => {
          for (const n of c.linux.namespaces) {
            if (n.type === 'pid') n.path = `/proc/${sp}/ns/pid`;
            if (n.type === 'mount') n.path = `/proc/${sp}/ns/mnt`;
          }
        };
        // (one container per holder: its pivot_root makes the rootfs that mount namespace's "/", and
        // detaches the rest, the bundle's path with it)
        setConfig(['sleep', '60'], joinNs);
        expect(oci(['run', '-d', '--bundle', bundle, 'jn2'])).toEqual({ code: 0, out: '' });
        const { pid } = statusOf('jn2'); // the forked init, by its host pid
        for (const ns of ['pid', 'mnt'])
          expect(readlinkSync(`/proc/${pid}/ns/${ns}`)).toBe(readlinkSync(`/proc/${sp}/ns/${ns}`));
        expect(readlinkSync(`/proc/${pid}/ns/net`)).not.toBe(readlinkSync(`/proc/${sp}/ns/net`)); // the others its own
        // sleep is PID 1 there, so the container's init is 2; the /proc it mounted is that namespace's
        expect(readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(/^NSpid:\t\d+\t2$/m);
        expect(oci(['exec', 'jn2', 'sh', '-c', 'cat /proc/1/comm /proc/2/comm'])).toEqual({
          code: 0,
          out: 'sleep\nsleep\n',
        });
        expect(oci(['kill', 'jn2', 'KILL']).code).toBe(0);
        await waitFor(() => !alive(pid), 5000, 'the init to die');
        expect(oci(['delete', 'jn2']).code).toBe(0);
      } finally {
        // pivot_root moved sleep's root too (every process of that mount namespace whose root was the
        // old one, pivot_root(2)): it goes before the leak check looks for processes in the rootfs
        holder.kill('SIGKILL');
        await waitFor(() => !existsSync(`/proc/${holder.pid}`) || !alive(holder.pid!), 5000, 'unshare to end');
      }
    },
  );

  it("no namespace in config.json (runtime-tools linux_ns_itype): the held init shares all seven of ours; it runs in the host's root, with nothing mounted", async () => {
    const NS = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'user', 'uts'];
    const none = (c: any): void => {
      c.linux.namespaces = [];
      delete c.hostname;
    };
    setConfig(
      [
        'sh',
        '-c',
        `readlink ${NS.map((n) => `/proc/self/ns/${n}`).join(' ')}; test -e /proc/self/ns/mnt && test -d ${dir}`,
      ],
      none,
    );
    const c = oci(['create', '--bundle', bundle, 'nn1']);
    expect(c.code).toBe(0);
    expect(c.out).toMatch(/level=warning msg="config\.json: linux\.namespaces has no mount namespace/);
    const { pid } = statusOf('nn1');
    for (const n of NS)
      expect(`${n} ${readlinkSync(`/proc/${pid}/ns/${n}`)}`).toBe(`${n} ${readlinkSync(`/proc/self/ns/${n}`)}`);
    // nothing pivoted: its root is the host's (the program then sees this test's directory)
    expect(readlinkSync(`/proc/${pid}/root`)).toBe('/');
    expect(oci(['delete', '--force', 'nn1']).code).toBe(0);
    await waitFor(() => !alive(pid), 5000, 'the held init to die');
    // the same through run: the program's own view, and its exit status (the host's /bin/sh)
    const r = oci(['run', '--bundle', bundle, 'nn2']);
    expect(r.code).toBe(0);
    expect(r.out.split('\n').filter((l) => l.includes(':['))).toEqual(
      NS.map((n) => readlinkSync(`/proc/self/ns/${n}`)),
    );
  });

  it("exec: foreground (its output and exit status), --process P.json (user, cwd), -d with --pid-file (outlives exec, in the container's namespaces and cgroup)", async () => {
    setConfig(['sleep', '60']);
    expect(oci(['run', '-d', '--bundle', bundle, 'x1']).code).toBe(0);
    const init = statusOf('x1').pid;
    try {
      expect(oci(['exec', 'x1', 'sh', '-c', 'echo in-$$; exit 4'])).toEqual({ code: 4, out: 'in-2\n' }); // pid 2: the init's PID namespace
      writeFileSync(
        join(dir, 'p.json'),
        JSON.stringify({ args: ['sh', '-c', 'id; pwd'], cwd: '/tmp', user: { uid: 5, gid: 6 } }),
      );
      expect(oci(['exec', '--process', join(dir, 'p.json'), 'x1'])).toEqual({
        code: 0,
        out: 'uid=5 gid=6 groups=6\n/tmp\n',
      });
      const pidFile = join(dir, 'exec.pid');
      expect(oci(['exec', '-d', '--pid-file', pidFile, 'x1', 'sleep', '30'])).toEqual({ code: 0, out: '' });
      const pid = Number(readFileSync(pidFile, 'utf8'));
      await waitFor(
        () => alive(pid) && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep',
        5000,
        'the detached exec to run sleep',
      );
      const ns = (p: number, n: string) => spawnSync('readlink', [`/proc/${p}/ns/${n}`], { encoding: 'utf8' }).stdout;
      for (const n of ['pid', 'mnt', 'net', 'uts', 'ipc']) expect(ns(pid, n)).toBe(ns(init, n));
      expect(readFileSync(`/proc/${pid}/cgroup`, 'utf8')).toBe(readFileSync(`/proc/${init}/cgroup`, 'utf8'));
      expect(readdirSync(join(root, 'x1'))).toEqual(['state.json']); // the exec fifo is gone
      rmSync(pidFile);
      const missing = oci(['exec', 'x1', '/no/such']);
      expect([missing.code, missing.out]).toEqual([
        1,
        expect.stringMatching(/level=error msg="exec \\"\/no\/such\\": executable file not found/),
      ]);
    } finally {
      expect(oci(['delete', '--force', 'x1']).code).toBe(0);
    }
    expect(oci(['exec', 'x1', 'true']).out).toMatch(/container does not exist/);
  });

  it('kill and delete on a created container: the held process is killed, its cgroup and fifo removed', async () => {
    setConfig(['sh', '-c', 'echo never > /never']);
    expect(oci(['create', '--bundle', bundle, 'k1']).code).toBe(0);
    const { pid } = statusOf('k1');
    expect(oci(['kill', 'k1', 'KILL']).code).toBe(0);
    await waitFor(() => !alive(pid), 5000, 'the held init to die');
    expect(statusOf('k1').status).toBe('stopped');
    expect(oci(['delete', 'k1']).code).toBe(0);
    expect(oci(['create', '--bundle', bundle, 'k2']).code).toBe(0);
    const k2 = statusOf('k2').pid;
    expect(oci(['delete', 'k2']).code).toBe(0); // created: no --force needed (runc)
    expect(alive(k2)).toBe(false);
    expect(existsSync(join(bundle, 'rootfs', 'never'))).toBe(false);
  });

  it("process.user.umask, linux.devices (mknod with the exact mode and owner) and a non-root user's ambient capability", () => {
    setConfig(
      [
        'sh',
        '-c',
        'umask; stat -c "%n %F %t:%T %a %u:%g" /dev/test1 /dev/sub/test2 /dev/test3; grep -E "^Cap(Eff|Prm|Amb)" /proc/self/status; id -u',
      ],
      (c) => {
        c.process.user = { uid: 1000, gid: 1000, umask: 0o027 };
        const cap = ['CAP_NET_BIND_SERVICE'];
        c.process.capabilities = { bounding: cap, effective: cap, permitted: cap, inheritable: cap, ambient: cap };
        c.linux.devices = [
          { path: '/dev/test1', type: 'c', major: 10, minor: 666, fileMode: 0o660, uid: 1000, gid: 5 },
          { path: '/dev/sub/test2', type: 'b', major: 8, minor: 666, fileMode: 0o600 },
          { path: '/dev/test3', type: 'p', fileMode: 0o640 },
        ];
      },
    );
    const r = oci(['run', '--bundle', bundle, 'u1']);
    expect(r.code).toBe(0);
    // (busybox stat prints the device numbers in hex: 10:666 is a:29a)
    expect(r.out.trim().split('\n')).toEqual([
      '0027',
      '/dev/test1 character special file a:29a 660 1000:5',
      '/dev/sub/test2 block special file 8:29a 600 0:0',
      '/dev/test3 fifo 0:0 640 0:0',
      // CAP_NET_BIND_SERVICE is bit 10: a non-root program keeps it through execve only as ambient
      'CapPrm:\t0000000000000400',
      'CapEff:\t0000000000000400',
      'CapAmb:\t0000000000000400',
      '1000',
    ]);
  });

  it('linux.rootfsPropagation shared and unbindable: "/" of the container carries it (mountinfo); no mount is left on the host', () => {
    for (const [prop, field] of [
      ['shared', /shared:\d+/],
      ['unbindable', /unbindable/],
    ] as const) {
      setConfig(['sh', '-c', 'awk \'$5 == "/"\' /proc/self/mountinfo'], (c) => {
        c.linux.rootfsPropagation = prop;
      });
      const r = oci(['run', '--bundle', bundle, `p-${prop}`]);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(field);
    }
    // (afterEach: no mount of this bundle is left on the host)
  });

  it('linux.maskedPaths of the rootfs: a directory gets an empty read-only tmpfs, a file /dev/null', () => {
    const rootfs = join(bundle, 'rootfs');
    mkdirSync(join(rootfs, 'masked-dir/sub'), { recursive: true });
    writeFileSync(join(rootfs, 'masked-dir/sub/secret'), 'secret');
    writeFileSync(join(rootfs, 'masked-file'), 'secret');
    try {
      setConfig(
        [
          'sh',
          '-c',
          'ls -A /masked-dir; cat /masked-file; echo ".$(cat /masked-file)."; touch /masked-dir/x || echo read-only',
        ],
        (c) => {
          c.linux.maskedPaths = ['/masked-dir', '/masked-file', '/masked-dir/sub'];
        },
      );
      const r = oci(['run', '--bundle', bundle, 'm1']);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^\.\.\n(.*Read-only file system\n)?read-only\n$/);
    } finally {
      rmSync(join(rootfs, 'masked-dir'), { recursive: true });
      rmSync(join(rootfs, 'masked-file'));
    }
  });

  it("mounts in config.json's order (mountinfo): a shared tmpfs, an rslave bind with nosuid,strictatime and tmpfs data options, a tmpfs", () => {
    mkdirSync(join(dir, 'hostdir'), { recursive: true });
    const base = ['nosuid', 'strictatime', 'mode=755', 'size=1k'];
    setConfig(['sh', '-c', "awk '$5 ~ /^\\/(tmp|data)/ { print $5, $6, $7 }' /proc/self/mountinfo"], (c) => {
      c.mounts.push(
        { destination: '/tmp/t-shared', type: 'tmpfs', source: 'tmpfs', options: [...base, 'shared'] },
        { destination: '/data', source: join(dir, 'hostdir'), options: [...base, 'rbind', 'rslave'] },
        { destination: '/tmp/t-last', type: 'tmpfs', source: 'tmpfs', options: base },
      );
    });
    const r = oci(['run', '--bundle', bundle, 'mnt1']);
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines.map((l) => l.split(' ')[0])).toEqual(['/tmp/t-shared', '/data', '/tmp/t-last']);
    expect(lines[0]).toMatch(/^\/tmp\/t-shared rw,nosuid shared:\d+$/);
    // a slave of nothing (every mount was made private first) is private: no optional field
    expect(lines[1]).toMatch(/^\/data rw,nosuid -$|^\/data rw,nosuid$/);
  });

  describe('hooks: run from the runtime with the state on stdin', () => {
    const hookDir = () => join(dir, 'hooks');
    /** a host hook that saves its stdin as hooks/NAME (appending a line to hooks/order) */
    const saving = (name: string) => ({
      path: '/bin/sh',
      args: ['sh', '-c', `cat > ${hookDir()}/${name}; echo ${name} >> ${hookDir()}/order`],
    });
    const saved = (name: string) => JSON.parse(readFileSync(join(hookDir(), name), 'utf8'));
    beforeEach(() => {
      rmSync(hookDir(), { recursive: true, force: true });
      mkdirSync(hookDir());
    });

    it('prestart and createRuntime at create ("creating", its pid), poststart at start ("running"), poststop at delete ("stopped"), in order', async () => {
      setConfig(['sh', '-c', 'sleep 2'], (c) => {
        c.annotations = { 'org.example': 'hooked' };
        c.hooks = {
          prestart: [saving('prestart')],
          createRuntime: [saving('createRuntime')],
          poststart: [saving('poststart')],
          poststop: [saving('poststop')],
        };
      });
      expect(oci(['create', '--bundle', bundle, 'h1'])).toEqual({ code: 0, out: '' });
      const { pid } = statusOf('h1');
      expect(readFileSync(join(hookDir(), 'order'), 'utf8')).toBe('prestart\ncreateRuntime\n');
      for (const h of ['prestart', 'createRuntime'])
        expect(saved(h)).toMatchObject({
          id: 'h1',
          status: 'creating',
          pid,
          bundle,
          annotations: { 'org.example': 'hooked' },
        });
      expect(oci(['start', 'h1'])).toEqual({ code: 0, out: '' });
      expect(saved('poststart')).toMatchObject({ id: 'h1', status: 'running', pid });
      // poststart ran once the program was exec'd: the init is no longer minidock's clone
      expect(readFileSync(`/proc/${pid}/comm`, 'utf8').trim()).toMatch(/^(sh|sleep)$/);
      expect(existsSync(join(hookDir(), 'poststop'))).toBe(false);
      expect(oci(['delete', '--force', 'h1']).code).toBe(0);
      expect(saved('poststop')).toMatchObject({ id: 'h1', status: 'stopped', bundle });
      expect(readFileSync(join(hookDir(), 'order'), 'utf8')).toBe('prestart\ncreateRuntime\npoststart\npoststop\n');
    });

    it('a failing prestart hook fails create (its exit status in the line), nothing is left, and the poststop hooks still run', () => {
      setConfig(['sh', '-c', 'echo never > /never'], (c) => {
        c.hooks = {
          prestart: [{ path: '/bin/sh', args: ['sh', '-c', 'echo bad >&2; exit 3'] }, saving('prestart2')],
          poststop: [saving('poststop')],
        };
      });
      const r = oci(['create', '--bundle', bundle, 'h2']);
      expect(r.code).toBe(1);
      expect(r.out).toMatch(
        /level=error msg="error running prestart hook #0 \(\/bin\/sh\): exit status 3, stdout: , stderr: bad"/,
      );
      expect(existsSync(join(hookDir(), 'prestart2'))).toBe(false); // the first failure stops the list
      expect(saved('poststop')).toMatchObject({ id: 'h2', status: 'stopped' });
      expect(existsSync(join(bundle, 'rootfs', 'never'))).toBe(false);
      expect(oci(['state', 'h2']).out).toMatch(/container does not exist/);
    });

    it('a prestart hook past its timeout is killed and fails create', () => {
      setConfig(['true'], (c) => {
        c.hooks = { prestart: [{ path: '/bin/sleep', args: ['sleep', '20'], timeout: 1 }] };
      });
      const t0 = Date.now();
      const r = oci(['create', '--bundle', bundle, 'h3']);
      expect(r.code).toBe(1);
      expect(r.out).toMatch(/prestart hook #0 \(\/bin\/sleep\): timed out after 1 s/);
      expect(Date.now() - t0).toBeLessThan(10_000);
    });

    it('a failing poststart or poststop hook is a warning: the next hooks run, start and delete succeed', async () => {
      setConfig(['true'], (c) => {
        c.hooks = {
          poststart: [{ path: '/bin/false', args: ['false'] }, saving('poststart2')],
          poststop: [{ path: '/bin/false' }, saving('poststop2')],
        };
      });
      expect(oci(['create', '--bundle', bundle, 'h4']).code).toBe(0);
      const s = oci(['start', 'h4']);
      expect(s.code).toBe(0);
      expect(s.out).toMatch(/level=warning msg="error running poststart hook #0 \(\/bin\/false\): exit status 1/);
      expect(saved('poststart2')).toMatchObject({ id: 'h4', status: 'running' });
      const d = oci(['delete', '--force', 'h4']);
      expect(d.code).toBe(0);
      expect(d.out).toMatch(/level=warning msg="error running poststop hook #0/);
      expect(saved('poststop2')).toMatchObject({ id: 'h4', status: 'stopped' });
    });
  });

  it("linux.cgroupsPath is the cgroup, with config.json's pids limit; delete removes it", () => {
    setConfig(['true'], (c) => {
      c.linux.cgroupsPath = '/minidock-oci-test/minidock-cg1';
      c.linux.resources = { pids: { limit: 17 } };
    });
    const created = oci(['create', '--bundle', bundle, 'p1']);
    let pidsMax: string | undefined;
    try {
      expect(created).toEqual({ code: 0, out: '' });
      const dirs = minidockCgroups().filter((d) => d.endsWith('/minidock-oci-test/minidock-cg1'));
      const pids = dirs.find((d) => existsSync(join(d, 'pids.max')));
      pidsMax = pids && readFileSync(join(pids, 'pids.max'), 'utf8').trim();
    } finally {
      expect(oci(['delete', '--force', 'p1']).code).toBe(0);
    }
    expect(pidsMax).toBe('17');
    expect(minidockCgroups().filter((d) => d.endsWith('/minidock-cg1'))).toEqual([]);
    // (the parent, made on the way, stays as runc leaves it: this test removes it)
    for (const d of minidockCgroups().filter((x) => x.endsWith('/minidock-oci-test'))) rmdirSync(d);
  });

  describe('bad input: one line, exit 1, nothing left', () => {
    const cases: Array<[string, () => string[], RegExp]> = [
      [
        'a bundle that does not exist',
        () => ['create', '--bundle', join(dir, 'nope'), 'b1'],
        /bundle .*nope: no such directory/,
      ],
      [
        'a bundle without config.json',
        () => ['create', '--bundle', join(dir, 'empty'), 'b2'],
        /config\.json: no such file/,
      ],
      ['a malformed config.json', () => ['create', '--bundle', join(dir, 'bad'), 'b3'], /config\.json: not valid JSON/],
      ['start on a container that does not exist', () => ['start', 'nobody'], /container does not exist/],
    ];
    beforeAll(() => {
      mkdirSync(join(dir, 'empty'));
      cpSync(join(bundle, 'rootfs'), join(dir, 'bad', 'rootfs'), { recursive: true, verbatimSymlinks: true });
      writeFileSync(join(dir, 'bad', 'config.json'), '{"ociVersion": "1.0.2", ');
    });
    for (const [what, args, msg] of cases) {
      it(what, () => {
        const r = oci(args());
        expect(r.code).toBe(1);
        expect(r.out.trim().split('\n')).toEqual([expect.stringMatching(msg)]);
      });
    }
    it('an ID that exists: refused, and the existing container is untouched', () => {
      setConfig(['true']);
      expect(oci(['create', '--bundle', bundle, 'dup']).code).toBe(0);
      const { pid } = statusOf('dup');
      const r = oci(['create', '--bundle', bundle, 'dup']);
      expect([r.code, r.out.trim()]).toEqual([
        1,
        expect.stringMatching(/level=error msg="container with id exists: dup"$/),
      ]);
      expect(statusOf('dup')).toMatchObject({ status: 'created', pid });
      expect(oci(['delete', 'dup']).code).toBe(0);
    });
    it('a program that does not exist in the rootfs: create succeeds (as runc 1.1 with an absolute path), start runs it, it exits', async () => {
      setConfig(['/no/such/program']);
      expect(oci(['create', '--bundle', bundle, 'np']).code).toBe(0);
      const { pid } = statusOf('np');
      expect(oci(['start', 'np']).code).toBe(0);
      await waitFor(() => !alive(pid), 5000, 'the init to exit');
      expect(oci(['delete', 'np']).code).toBe(0);
    });
  });

  it.skipIf(!hasRunc)(
    `the same sequence under runc (${hasRunc ? 'runc installed' : 'runc not installed: skipped'})`,
    async () => {
      setConfig(['sh', '-c', 'sleep 3']);
      const seen: Record<string, string[]> = {};
      for (const [name, run] of [
        ['minidock', oci],
        ['runc', (a: string[]) => runtime('runc', ['--root', join(dir, 'runc-state'), ...a])],
      ] as const) {
        const s: string[] = [];
        s.push(`create ${run(['create', '--bundle', bundle, 'cmp']).code}`);
        s.push(JSON.parse(run(['state', 'cmp']).out).status);
        s.push(`start ${run(['start', 'cmp']).code}`);
        s.push(JSON.parse(run(['state', 'cmp']).out).status);
        const again = run(['start', 'cmp']);
        s.push(`start again ${again.code} ${/cannot start an already running container/.test(again.out)}`);
        const del = run(['delete', 'cmp']);
        s.push(`delete running ${del.code} ${/not stopped: running/.test(del.out)}`);
        await waitFor(
          () => JSON.parse(run(['state', 'cmp']).out).status === 'stopped',
          10_000,
          `${name}: the container to stop`,
        );
        s.push(`delete ${run(['delete', 'cmp']).code}`);
        seen[name] = s;
      }
      expect(seen.minidock).toEqual(seen.runc);
      expect(seen.minidock).toEqual([
        'create 0',
        'created',
        'start 0',
        'running',
        'start again 1 true',
        'delete running 1 true',
        'delete 0',
      ]);
      rmSync(join(dir, 'runc-state'), { recursive: true, force: true });
    },
  );
});
