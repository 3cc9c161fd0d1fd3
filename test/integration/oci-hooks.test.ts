// The in-container hooks through the real binary (minidock-oci), on a bundle made here (the project's
// busybox rootfs, config.json from `minidock-oci spec`): a createContainer hook runs in the
// container's mount namespace and cgroup before pivot_root (its path the host's) with the state
// ("creating", the init's host pid) on its stdin; a startContainer hook runs after start, in the
// container (its path the container's), before the program; a failing or timed-out createContainer
// fails create in one line and leaves nothing (mounts, cgroups, state dir, processes compared
// before/after; poststop still runs); a failing startContainer fails start. And exec --preserve-fds.
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { canRun, hostSnapshot, ROOTFS, skipReason, waitFor } from '../helpers';

const BIN = join(__dirname, '../../bin/minidock-oci.js');

let dir: string;
let root: string;
let bundle: string;
let outFile: string;
let hooks: string;

/** A runtime with stdout/stderr in a file (a container inherits them: a pipe would stay open). */
function oci(args: string[], fds: number[] = []): { code: number | null; out: string } {
  const fd = openSync(outFile, 'w');
  try {
    const r = spawnSync(BIN, ['--root', root, ...args], { stdio: ['ignore', fd, fd, ...fds], timeout: 30_000 });
    return { code: r.status, out: readFileSync(outFile, 'utf8') };
  } finally {
    closeSync(fd);
  }
}
const statusOf = (id: string) => JSON.parse(oci(['state', id]).out);
const alive = (pid: number) =>
  existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));

/** config.json from `minidock-oci spec`, with these args, no terminal, a writable rootfs. */
function setConfig(args: string[], edit: (c: any) => void = () => {}): void {
  const c = JSON.parse(readFileSync(join(dir, 'spec', 'config.json'), 'utf8'));
  c.process.args = args;
  c.process.terminal = false;
  c.root.readonly = false;
  edit(c);
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(c));
}

/** What a container of this file could leave: mounts under its dir, cgroups named after its IDs,
 * processes whose root is its rootfs, and the hooks' sleeps. */
function snapshot() {
  const s = hostSnapshot();
  const procs = readdirSync('/proc').filter((p) => {
    if (!/^\d+$/.test(p)) return false;
    try {
      return (
        readlinkSync(`/proc/${p}/root`) === join(bundle, 'rootfs') ||
        /minidock-hook-sleep|^sleep\x0031\x00$/.test(readFileSync(`/proc/${p}/cmdline`, 'utf8'))
      );
    } catch {
      return false;
    }
  });
  return {
    mounts: s.mounts.filter((m) => m.includes(dir)),
    cgroups: s.cgroups.filter((c) => /\/minidock-oci-hk/.test(c)),
    procs,
  };
}

/** A host hook (createContainer: its path resolved in the runtime's namespace) running `script`. */
const hostHook = (script: string, timeout?: number) => ({ path: '/bin/sh', args: ['sh', '-c', script], timeout });

describe.skipIf(!canRun)(`minidock-oci createContainer and startContainer hooks (${skipReason || 'root'})`, () => {
  let before: ReturnType<typeof snapshot>;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'minidock-oci-hooks-'));
    root = join(dir, 'state');
    bundle = join(dir, 'bundle');
    outFile = join(dir, 'out.txt');
    hooks = join(dir, 'hooks');
    cpSync(ROOTFS, join(bundle, 'rootfs'), { recursive: true, verbatimSymlinks: true });
    mkdirSync(join(dir, 'spec'));
    expect(oci(['spec', '--bundle', join(dir, 'spec')]).code).toBe(0);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => {
    rmSync(hooks, { recursive: true, force: true });
    mkdirSync(hooks);
    for (const f of ['hookstate', 'prog']) rmSync(join(bundle, 'rootfs', f), { force: true });
    before = snapshot();
  });
  afterEach(() => {
    expect(snapshot()).toEqual(before);
    expect(existsSync(root) ? readdirSync(root) : []).toEqual([]);
  });

  it("createContainer: in the container's mount namespace and cgroup, before pivot_root, the state with the init's host pid on stdin", () => {
    setConfig(['sh', '-c', 'true'], (c) => {
      c.annotations = { 'org.example': 'in' };
      c.hooks = {
        createContainer: [
          hostHook(
            `readlink /proc/self/ns/mnt > ${hooks}/mnt; cat > ${hooks}/state; cat /proc/self/cgroup > ${hooks}/cgroup; ls / > ${hooks}/root`,
          ),
        ],
      };
    });
    expect(oci(['create', '--bundle', bundle, 'hk1'])).toEqual({ code: 0, out: '' });
    try {
      const st = statusOf('hk1');
      const state = JSON.parse(readFileSync(join(hooks, 'state'), 'utf8'));
      expect(state).toEqual({
        ociVersion: st.ociVersion,
        id: 'hk1',
        pid: st.pid,
        status: 'creating',
        bundle,
        rootfs: join(bundle, 'rootfs'),
        created: st.created,
        annotations: { 'org.example': 'in' },
        owner: st.owner,
      });
      // the init's mount namespace, not the host's
      const mnt = readFileSync(join(hooks, 'mnt'), 'utf8').trim();
      expect(mnt).toBe(readlinkSync(`/proc/${st.pid}/ns/mnt`));
      expect(mnt).not.toBe(readlinkSync('/proc/self/ns/mnt'));
      // in the container's cgroup (its cgroup namespace comes later: the full path)
      expect(readFileSync(join(hooks, 'cgroup'), 'utf8')).toMatch(/\/minidock-oci-hk1$/m);
      // before pivot_root: "/" is still the host's (its path resolved there: /bin/sh of the host)
      expect(readFileSync(join(hooks, 'root'), 'utf8').split('\n')).toContain(dir.split('/')[1]);
    } finally {
      expect(oci(['delete', '--force', 'hk1']).code).toBe(0);
    }
  });

  it('startContainer: after start, inside the container (its path the rootfs\'s), before the program; "created" with the pid', async () => {
    setConfig(['sh', '-c', 'test -s /hookstate && echo ran > /prog'], (c) => {
      c.hooks = {
        startContainer: [
          { path: '/bin/sh', args: ['sh', '-c', '{ cat; echo; readlink /proc/self/ns/mnt; } > /hookstate'] },
        ],
      };
    });
    expect(oci(['create', '--bundle', bundle, 'hk2'])).toEqual({ code: 0, out: '' });
    try {
      const { pid } = statusOf('hk2');
      const mnt = readlinkSync(`/proc/${pid}/ns/mnt`);
      expect(existsSync(join(bundle, 'rootfs', 'hookstate'))).toBe(false); // not at create
      expect(oci(['start', 'hk2'])).toEqual({ code: 0, out: '' });
      const [json, ns] = readFileSync(join(bundle, 'rootfs', 'hookstate'), 'utf8')
        .trim()
        .split('\n');
      expect(JSON.parse(json!)).toMatchObject({ id: 'hk2', pid, status: 'created', bundle });
      expect(ns).toBe(mnt);
      await waitFor(() => !alive(pid), 5000);
      expect(readFileSync(join(bundle, 'rootfs', 'prog'), 'utf8')).toBe('ran\n');
    } finally {
      expect(oci(['delete', '--force', 'hk2']).code).toBe(0);
    }
  });

  it('a failing createContainer hook fails create in one line; nothing is left; poststop runs', () => {
    setConfig(['sh', '-c', 'echo never > /prog'], (c) => {
      c.hooks = {
        createContainer: [hostHook('echo bad >&2; exit 3'), hostHook(`touch ${hooks}/second`)],
        poststop: [hostHook(`cat > ${hooks}/poststop`)],
      };
    });
    const r = oci(['create', '--bundle', bundle, 'hk3']);
    expect(r.code).toBe(1);
    // (the hook's own stderr is the runtime's: its line comes first)
    expect(r.out.trim().split('\n')).toEqual([
      'bad',
      expect.stringMatching(
        /level=error msg="hook\(\/bin\/sh\): exit status 3 — createContainer hook #0 \(config.json hooks.createContainer\[0\]\): in the container's namespaces/,
      ),
    ]);
    expect(existsSync(join(hooks, 'second'))).toBe(false); // the first failure stops the list
    expect(JSON.parse(readFileSync(join(hooks, 'poststop'), 'utf8'))).toMatchObject({ id: 'hk3', status: 'stopped' });
    expect(existsSync(join(bundle, 'rootfs', 'prog'))).toBe(false);
    expect(oci(['state', 'hk3']).out).toMatch(/container does not exist/);
  });

  it('a createContainer hook past its timeout is killed (its children too) and fails create', () => {
    setConfig(['true'], (c) => {
      c.hooks = { createContainer: [hostHook('sleep 31; : minidock-hook-sleep', 1)] };
    });
    const t0 = Date.now();
    const r = oci(['create', '--bundle', bundle, 'hk4']);
    if (r.code === 0) oci(['delete', '--force', 'hk4']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(
      /msg="hook\(\/bin\/sh\): timed out after 1 s, killed \(ETIMEDOUT\) — createContainer hook #0/,
    );
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('a failing startContainer hook fails start (the program never runs); delete leaves nothing', async () => {
    setConfig(['sh', '-c', 'echo never > /prog'], (c) => {
      c.hooks = { startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'exit 4'] }] };
    });
    expect(oci(['create', '--bundle', bundle, 'hk5'])).toEqual({ code: 0, out: '' });
    try {
      const { pid } = statusOf('hk5');
      const r = oci(['start', 'hk5']);
      expect(r.code).toBe(1);
      expect(r.out.trim().split('\n')).toEqual([
        expect.stringMatching(/level=error msg="hook\(\/bin\/sh\): exit status 4 — startContainer hook #0/),
      ]);
      await waitFor(() => !alive(pid), 5000);
      expect(statusOf('hk5').status).toBe('stopped');
      expect(existsSync(join(bundle, 'rootfs', 'prog'))).toBe(false);
    } finally {
      expect(oci(['delete', '--force', 'hk5']).code).toBe(0);
    }
  });

  it('the lifecycle order: prestart, createRuntime (child at SYNC: its namespaces and mounts made, not pivoted), createContainer; at start startContainer, poststart', async () => {
    // every hook appends its name to one file (the container's hooks see it bind-mounted at /hooks)
    const append = (name: string, at = hooks) => hostHook(`echo ${name} >> ${at}/order`);
    // prestart also records what the held child looks like from the host, by the pid on its stdin
    const look = [
      `cat > ${hooks}/state`,
      `pid=$(sed -n 's/.*"pid":\\([0-9]*\\).*/\\1/p' ${hooks}/state)`,
      `readlink /proc/$pid/ns/mnt > ${hooks}/mnt`,
      `test -d /proc/$pid/root${bundle}/rootfs && echo host > ${hooks}/root`,
      `cut -d' ' -f5 /proc/$pid/mountinfo > ${hooks}/mounts`,
      `echo prestart >> ${hooks}/order`,
    ].join('; ');
    setConfig(['true'], (c) => {
      c.mounts.push({ destination: '/hooks', type: 'bind', source: hooks, options: ['rbind', 'rw'] });
      c.hooks = {
        prestart: [hostHook(look)],
        createRuntime: [append('createRuntime')],
        createContainer: [append('createContainer')],
        startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'echo startContainer >> /hooks/order'] }],
        poststart: [append('poststart')],
      };
    });
    const order = () => readFileSync(join(hooks, 'order'), 'utf8').trim().split('\n');
    expect(oci(['create', '--bundle', bundle, 'hk7'])).toEqual({ code: 0, out: '' });
    try {
      expect(order()).toEqual(['prestart', 'createRuntime', 'createContainer']);
      const { pid } = statusOf('hk7');
      const seen = (f: string) => readFileSync(join(hooks, f), 'utf8').trim();
      expect(JSON.parse(seen('state'))).toMatchObject({ id: 'hk7', pid, status: 'creating', bundle });
      // the container's mount namespace already, not the host's
      expect(seen('mnt')).toBe(readlinkSync(`/proc/${pid}/ns/mnt`));
      expect(seen('mnt')).not.toBe(readlinkSync('/proc/self/ns/mnt'));
      // not pivoted yet: its root was the host's "/" then (the bundle seen through /proc/PID/root;
      // readlink says "/" before and after, a root out of our mount namespace included), the rootfs now
      expect(seen('root')).toBe('host');
      expect(existsSync(`/proc/${pid}/root${bundle}`)).toBe(false);
      expect(existsSync(`/proc/${pid}/root/bin/sh`)).toBe(true);
      // ...but its mounts were made: the container's /proc and the bind mount, at their host paths
      const mounts = seen('mounts').split('\n');
      expect(mounts).toContain(join(bundle, 'rootfs', 'proc'));
      expect(mounts).toContain(join(bundle, 'rootfs', 'hooks'));
      expect(oci(['start', 'hk7'])).toEqual({ code: 0, out: '' });
      expect(order()).toEqual(['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart']);
      await waitFor(() => !alive(pid), 5000);
    } finally {
      expect(oci(['delete', '--force', 'hk7']).code).toBe(0);
    }
  });

  it('a failing createRuntime hook: create fails in one line, before createContainer; nothing is left; poststop runs', () => {
    setConfig(['sh', '-c', 'echo never > /prog'], (c) => {
      c.hooks = {
        prestart: [
          hostHook(
            `echo prestart >> ${hooks}/order; cat > ${hooks}/prestart; pid=$(sed -n 's/.*"pid":\\([0-9]*\\).*/\\1/p' ${hooks}/prestart); readlink /proc/$pid/ns/mnt > ${hooks}/mnt`,
          ),
        ],
        createRuntime: [hostHook('echo bad >&2; exit 5'), hostHook(`echo createRuntime2 >> ${hooks}/order`)],
        createContainer: [hostHook(`echo createContainer >> ${hooks}/order`)],
        poststop: [hostHook(`echo poststop >> ${hooks}/order; cat > ${hooks}/poststop`)],
      };
    });
    const r = oci(['create', '--bundle', bundle, 'hk8']);
    expect(r.code).toBe(1);
    expect(r.out.trim().split('\n')).toEqual([
      expect.stringMatching(
        /level=error msg="error running createRuntime hook #0 \(\/bin\/sh\): exit status 5, stdout: , stderr: bad"/,
      ),
    ]);
    expect(readFileSync(join(hooks, 'order'), 'utf8')).toBe('prestart\npoststop\n');
    const pre = JSON.parse(readFileSync(join(hooks, 'prestart'), 'utf8'));
    expect(pre).toMatchObject({ id: 'hk8', status: 'creating' });
    expect(pre.pid).toBeGreaterThan(0);
    // the held child is gone, and with it its mount namespace (and every mount made in it): no
    // process is in it (a pid alone could be reused: pid_max is often 32768)
    const mnt = readFileSync(join(hooks, 'mnt'), 'utf8').trim();
    expect(mnt).toMatch(/^mnt:\[\d+\]$/);
    const inIt = readdirSync('/proc').filter((p) => {
      try {
        return /^\d+$/.test(p) && readlinkSync(`/proc/${p}/ns/mnt`) === mnt;
      } catch {
        return false;
      }
    });
    expect(inIt).toEqual([]);
    expect(JSON.parse(readFileSync(join(hooks, 'poststop'), 'utf8'))).toMatchObject({ id: 'hk8', status: 'stopped' });
    expect(existsSync(join(bundle, 'rootfs', 'prog'))).toBe(false);
    expect(oci(['state', 'hk8']).out).toMatch(/container does not exist/);
  });

  it.skipIf(
    !existsSync('/proc/sys/user/max_user_namespaces') ||
      readFileSync('/proc/sys/user/max_user_namespaces', 'utf8').trim() === '0',
  )(
    'with a user namespace too: prestart runs at the second SYNC, the maps written and the mounts made, before pivot_root',
    () => {
      const look = [
        `cat > ${hooks}/state`,
        `pid=$(sed -n 's/.*"pid":\\([0-9]*\\).*/\\1/p' ${hooks}/state)`,
        `cat /proc/$pid/uid_map > ${hooks}/uid_map`,
        `cut -d' ' -f5 /proc/$pid/mountinfo > ${hooks}/mounts`,
        `test -d /proc/$pid/root${bundle}/rootfs && echo host > ${hooks}/root`,
        `echo prestart >> ${hooks}/order`,
      ].join('; ');
      setConfig(['true'], (c) => {
        c.linux.namespaces.push({ type: 'user' });
        c.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 2000 }];
        c.linux.gidMappings = [{ containerID: 0, hostID: 1000, size: 2000 }];
        // (no createContainer hook here: the mapped root it runs as cannot search this 0700 directory)
        c.hooks = { prestart: [hostHook(look)] };
      });
      expect(oci(['create', '--bundle', bundle, 'hk9'])).toEqual({ code: 0, out: '' });
      try {
        const seen = (f: string) => readFileSync(join(hooks, f), 'utf8').trim();
        expect(seen('order')).toBe('prestart');
        expect(JSON.parse(seen('state'))).toMatchObject({ id: 'hk9', pid: statusOf('hk9').pid, status: 'creating' });
        expect(seen('uid_map').split(/\s+/)).toEqual(['0', '1000', '2000']);
        expect(seen('mounts').split('\n')).toContain(join(bundle, 'rootfs', 'proc'));
        expect(seen('root')).toBe('host');
      } finally {
        expect(oci(['delete', '--force', 'hk9']).code).toBe(0);
      }
    },
  );

  it("exec --preserve-fds 1: the caller's fd 3 is the exec'd process's fd 3; without it closed; an fd not passed is refused", () => {
    setConfig(['sleep', '30']);
    expect(oci(['run', '-d', '--bundle', bundle, 'hk6'])).toEqual({ code: 0, out: '' });
    const file = join(dir, 'fd3.txt');
    writeFileSync(file, '');
    const fd = openSync(file, 'w');
    try {
      const r = oci(['exec', '--preserve-fds', '1', 'hk6', 'sh', '-c', 'echo through fd 3 >&3'], [fd]);
      expect(r).toEqual({ code: 0, out: '' });
      expect(readFileSync(file, 'utf8')).toBe('through fd 3\n');
      const closed = oci(['exec', 'hk6', 'sh', '-c', 'echo again >&3'], [fd]);
      expect(closed.code).not.toBe(0);
      expect(closed.out).toMatch(/3: Bad file descriptor/);
      expect(readFileSync(file, 'utf8')).toBe('through fd 3\n');
      const bad = oci(['exec', '--preserve-fds', '2', 'hk6', 'true'], [fd]);
      expect(bad.code).toBe(1);
      expect(bad.out.trim().split('\n')).toEqual([
        expect.stringMatching(/--preserve-fds 2: fd 4 (is not open|was not passed by the caller)/),
      ]);
    } finally {
      closeSync(fd);
      expect(oci(['delete', '--force', 'hk6']).code).toBe(0);
    }
  });
});
