// --pid, --uts, --ipc and --shm-size through the real CLI (docs/lifecycle.md, "Sharing namespaces"):
// --pid host sees the host's processes; --uts host the host's name; two containers with --ipc
// container:A share a file in /dev/shm both ways (foreground and -d) and a System V segment (made in
// A's IPC namespace with the host's ipcmk through nsenter: the rootfs's busybox has no ipcs/ipcmk);
// --pid container:A sees A's processes, and a detached one is recorded, waited for and stopped as
// its forked init; --shm-size shows in df. Each refusal is one line, exit 125, with nothing left.
// useLeakCheckedRoot compares mounts, cgroups and container directories around each test; each
// test also checks that none of its processes is left.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { canRun, minidock, pidsMatching, ROOTFS, skipReason, useLeakCheckedRoot, waitFor } from '../helpers';

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const sysvSkip = !has('ipcmk') || !has('nsenter') ? 'no ipcmk or nsenter on the host (util-linux)' : '';

describe.skipIf(!canRun)(`--pid, --uts, --ipc, --shm-size${canRun ? '' : ` (skipped: ${skipReason})`}`, () => {
  let root = '';
  useLeakCheckedRoot((r) => (root = r));
  const md = (args: string[]) => minidock(args, { root });
  const pidOf = (name: string): number => JSON.parse(md(['inspect', name]).stdout)[0].State.Pid;
  /** a detached `sleep MARK` named `name`: its pid */
  const startSleeper = (name: string, mark: number, extra: string[] = [], cmd?: string): number => {
    const r = md([
      'run',
      '-d',
      '--name',
      name,
      ...extra,
      ROOTFS,
      ...(cmd ? ['sh', '-c', cmd] : ['sleep', String(mark)]),
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return pidOf(name);
  };
  const removeAll = (...names: string[]): void => {
    for (const n of names) md(['rm', '-f', n]);
  };
  const noneLeft = (mark: number): void => expect(pidsMatching(`sleep ${mark}`)).toEqual([]);
  const refused = (r: ReturnType<typeof md>, re: RegExp): void => {
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(re);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  };

  it("--pid host: /proc is the host's (pid 1 is the host's init, and this test's own process is listed)", () => {
    const r = md([
      'run',
      '--rm',
      '--pid',
      'host',
      ROOTFS,
      'sh',
      '-c',
      `cat /proc/1/comm; test -d /proc/${process.pid} && echo me`,
    ]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`${readFileSync('/proc/1/comm', 'utf8').trim()}\nme\n`);
    // without it: its own PID namespace, where it is 1
    expect(md(['run', '--rm', ROOTFS, 'cat', '/proc/1/comm']).stdout).toBe('cat\n');
  });

  it("--uts host: the host's hostname (and HOSTNAME); --hostname with it refused", () => {
    const r = md(['run', '--rm', '--uts', 'host', ROOTFS, 'sh', '-c', 'hostname; echo $HOSTNAME']);
    expect(r.stdout).toBe(`${hostname()}\n${hostname()}\n`);
    refused(
      md(['run', '--rm', '--uts', 'host', '-h', 'box', ROOTFS, 'true']),
      /^minidock: --hostname box with --uts host/,
    );
  });

  it('--ipc container:A shares /dev/shm both ways, foreground and -d; inspect shows the modes', async () => {
    startSleeper('ipca', 3101, [], 'echo from-a > /dev/shm/a; sleep 3101');
    try {
      const b = md([
        'run',
        '--rm',
        '--ipc',
        'container:ipca',
        ROOTFS,
        'sh',
        '-c',
        'cat /dev/shm/a; echo from-b > /dev/shm/b',
      ]);
      expect(b.stderr).toBe('');
      expect(b.stdout).toBe('from-a\n');
      expect(md(['exec', 'ipca', 'cat', '/dev/shm/b']).stdout).toBe('from-b\n');
      // detached, under the monitor
      startSleeper('ipcb', 3102, ['--ipc', 'container:ipca']);
      expect(md(['exec', 'ipcb', 'cat', '/dev/shm/a']).stdout).toBe('from-a\n');
      const hc = JSON.parse(md(['inspect', 'ipcb']).stdout)[0].HostConfig;
      expect(hc).toMatchObject({ IpcMode: 'container:ipca', PidMode: '', UTSMode: '', ShmSize: 0 });
      expect(JSON.parse(md(['inspect', 'ipca']).stdout)[0].HostConfig).toMatchObject({
        IpcMode: 'shareable',
        ShmSize: 64 * 1024 * 1024,
      });
      // the IPC namespace itself is A's
      expect(readlinkSync(`/proc/${pidOf('ipcb')}/ns/ipc`)).toBe(readlinkSync(`/proc/${pidOf('ipca')}/ns/ipc`));
      // a plain container's /dev/shm is its own
      expect(md(['run', '--rm', ROOTFS, 'ls', '/dev/shm']).stdout).toBe('');
    } finally {
      removeAll('ipcb', 'ipca');
    }
    noneLeft(3101);
    noneLeft(3102);
  });

  it.skipIf(!!sysvSkip)(
    `--ipc container:A: a System V segment made in A's IPC namespace is B's too, not a plain container's${sysvSkip ? ` (skipped: ${sysvSkip})` : ''}`,
    () => {
      const a = startSleeper('sysva', 3103);
      try {
        const mk = spawnSync('nsenter', ['-t', String(a), '--ipc', 'ipcmk', '-M', '4096'], { encoding: 'utf8' });
        expect(mk.status).toBe(0);
        const id = /id: (\d+)/.exec(mk.stdout)![1]!;
        const shmids = (out: string): string[] =>
          out
            .split('\n')
            .slice(1)
            .map((l) => l.trim().split(/\s+/)[1])
            .filter((x): x is string => !!x);
        expect(
          shmids(md(['run', '--rm', '--ipc', 'container:sysva', ROOTFS, 'cat', '/proc/sysvipc/shm']).stdout),
        ).toEqual([id]);
        expect(shmids(md(['run', '--rm', ROOTFS, 'cat', '/proc/sysvipc/shm']).stdout)).toEqual([]);
      } finally {
        removeAll('sysva'); // (the segment goes with A's IPC namespace)
      }
      noneLeft(3103);
    },
  );

  it("--ipc host: the host's /dev/shm and IPC namespace", () => {
    const file = `/dev/shm/minidock-test-${process.pid}`;
    writeFileSync(file, 'host\n');
    try {
      const r = md(['run', '--rm', '--ipc', 'host', ROOTFS, 'sh', '-c', `cat ${file}; readlink /proc/self/ns/ipc`]);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(`host\n${readlinkSync('/proc/self/ns/ipc')}\n`);
    } finally {
      rmSync(file, { force: true });
    }
  });

  it("--pid container:A: A's processes, foreground and -d; the detached one is recorded, waited for and stopped as its init", async () => {
    startSleeper('pida', 3104);
    try {
      const ps = md(['run', '--rm', '--pid', 'container:pida', ROOTFS, 'ps']);
      expect(ps.stderr).toBe('');
      expect(ps.stdout).toMatch(/^\s*1 root\s+sleep 3104$/m); // A's init is 1 there
      expect(ps.code).toBe(0);
      // the foreground launch waits for the forked init, not the process that forked it: its status
      expect(md(['run', '--rm', '--pid', 'container:pida', ROOTFS, 'sh', '-c', 'sleep 0.3; exit 7']).code).toBe(7);
      const b = startSleeper('pidb', 3105, ['--pid', 'container:pida']);
      // the recorded pid is the forked init's, running sleep (not the process that forked it)
      expect(readFileSync(`/proc/${b}/cmdline`, 'utf8')).toBe('sleep\x003105\0');
      expect(readlinkSync(`/proc/${b}/ns/pid`)).toBe(readlinkSync(`/proc/${pidOf('pida')}/ns/pid`));
      expect(md(['exec', 'pidb', 'ps']).stdout).toMatch(/sleep 3104[\s\S]*sleep 3105/);
      expect(md(['stop', '-t', '2', 'pidb']).code).toBe(0);
      await waitFor(() => !existsSync(`/proc/${b}`), 5000, 'the init to go');
      const st = JSON.parse(md(['inspect', 'pidb']).stdout)[0].State;
      expect(st.Status).toBe('exited');
      expect(pidsMatching('sleep 3104')).not.toEqual([]); // A runs on
    } finally {
      removeAll('pidb', 'pida');
    }
    noneLeft(3104);
    noneLeft(3105);
  });

  it('--shm-size sets the /dev/shm tmpfs (df), 64 MiB by default', () => {
    const df = (extra: string[]): string =>
      md(['run', '--rm', ...extra, ROOTFS, 'df', '-k', '/dev/shm'])
        .stdout.split('\n')[1]!
        .trim()
        .split(/\s+/)[1]!;
    expect(df(['--shm-size', '128m'])).toBe('131072');
    expect(df([])).toBe('65536');
    expect(md(['create', '--name', 'shm', '--shm-size', '1g', ROOTFS, 'true']).code).toBe(0);
    try {
      expect(JSON.parse(md(['inspect', 'shm']).stdout)[0].HostConfig.ShmSize).toBe(1024 ** 3);
    } finally {
      removeAll('shm');
    }
  });

  it('refused in one line, exit 125, nothing left: a target not running, itself, private, bad values', () => {
    startSleeper('priv', 3106, ['--ipc', 'private']);
    try {
      expect(md(['create', '--name', 'stopped', ROOTFS, 'true']).code).toBe(0);
      refused(
        md(['run', '--rm', '--ipc', 'container:stopped', ROOTFS, 'true']),
        /container:stopped: that container is not running/,
      );
      refused(
        md(['run', '-d', '--pid', 'container:stopped', ROOTFS, 'true']),
        /container:stopped: that container is not running/,
      );
      refused(
        md(['run', '--rm', '--pid', 'container:nosuch', ROOTFS, 'true']),
        /--pid container:nosuch: no such container/,
      );
      refused(md(['run', '--rm', '--ipc', 'container:priv', ROOTFS, 'true']), /its IPC namespace is private/);
      expect(md(['create', '--name', 'self', '--ipc', 'container:self', ROOTFS, 'true']).code).toBe(0);
      refused(md(['start', 'self']), /--ipc container:self: that is this container itself/);
      for (const [args, re] of [
        [['--ipc', 'bogus'], /--ipc bogus: use host, private, shareable or container:NAME/],
        [['--pid', 'private'], /--pid private: use host or container:NAME/],
        [['--pid', 'container:'], /--pid container: needs a container name/],
        [['--uts', 'private'], /--uts private: use host/],
        [['--shm-size', '0'], /--shm-size 0: give a size above 0/],
        [['--shm-size', 'lots'], /invalid --shm-size "lots"/],
        [['--ipc', 'host', '--shm-size', '1m'], /--shm-size with --ipc host/],
        [['--pid', 'host', '--userns', 'auto'], /--pid host with a user namespace/],
      ] as const)
        refused(md(['run', '--rm', ...args, ROOTFS, 'true']), re);
      // only the containers made on purpose
      expect(JSON.parse(`[${md(['ps', '-a', '--format', 'json']).stdout.trim().split('\n').join(',')}]`).length).toBe(
        3,
      );
    } finally {
      removeAll('priv', 'stopped', 'self');
    }
    noneLeft(3106);
  });

  it('--dry-run shows each step with its reason: the joins, the fork, /dev/shm copied from A', () => {
    startSleeper('dry', 3107);
    try {
      const out = md(['run', '--dry-run', '--ipc', 'container:dry', '--pid', 'container:dry', ROOTFS, 'true']).stdout;
      const a = pidOf('dry');
      expect(out).toContain(`setns(open("/proc/${a}/ns/ipc"), CLONE_NEWIPC)`);
      expect(out).toContain(`setns(open("/proc/${a}/ns/pid"), CLONE_NEWPID)`);
      expect(out).toMatch(/clone\(CLONE_PARENT\|SIGCHLD\)[^\n]*\n\s+# setns\(pid\) applies to our children only/);
      expect(out).toMatch(new RegExp(`setns\\(open\\("/proc/${a}/ns/mnt"\\), CLONE_NEWNS\\); open_tree\\("/dev/shm"`));
      expect(out).toMatch(/^# minidock: clone\((?![^)]*NEWPID)(?![^)]*NEWIPC)[^)]*\)/m);
    } finally {
      removeAll('dry');
    }
    noneLeft(3107);
  });
});
