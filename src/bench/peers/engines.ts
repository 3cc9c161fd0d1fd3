// Podman, Docker and containerd's ctr: engines that import an image of the same rootfs and run it.
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { sh, which } from '../proc.js';
import {
  ALL_CAPS,
  bytesFlag,
  unavailable,
  type BenchContext,
  type BenchLimits,
  type Detection,
  type EngineReport,
  type Launch,
  type Peer,
  type Workload,
} from './types.js';

/** --memory / --memory-swap / --cpus / --pids-limit, the flags Docker and Podman share. */
export function engineLimitFlags(l: BenchLimits = {}): string[] {
  const f: string[] = [];
  if (l.memoryBytes !== undefined) f.push('--memory', bytesFlag(l.memoryBytes));
  if (l.memorySwapBytes !== undefined) f.push('--memory-swap', bytesFlag(l.memorySwapBytes));
  if (l.cpus !== undefined) f.push('--cpus', String(l.cpus));
  if (l.pids !== undefined) f.push('--pids-limit', String(l.pids));
  return f;
}

function inspectState(argv: string[]): EngineReport {
  const r = sh(argv);
  if (r.code !== 0) return { message: `inspect failed: ${r.stderr.trim().split('\n')[0]}` };
  try {
    const s = JSON.parse(r.stdout) as { ExitCode?: number; OOMKilled?: boolean };
    return { exitCode: s.ExitCode, oomKilled: s.OOMKilled };
  } catch {
    return { message: 'inspect printed no JSON' };
  }
}

// ---------------------------------------------------------------- Podman

/**
 * Podman 4.3 here: root lacks CAP_SYS_RESOURCE, so the hard RLIMIT_NOFILE/NPROC Podman asks for
 * (1048576) cannot be set: --ulimit pins them lower. No systemd: --cgroup-manager cgroupfs and
 * --events-backend file. --runtime runc because Podman's default, crun, refuses this hybrid host.
 */
export const PODMAN_GLOBAL = ['--cgroup-manager', 'cgroupfs', '--events-backend', 'file'];
export const PODMAN_RUN = [
  '--network',
  'none',
  '--ulimit',
  'nofile=20000:20000',
  '--ulimit',
  'nproc=32768:32768',
  '--runtime',
  'runc',
];

export class PodmanPeer implements Peer {
  readonly name = 'podman';
  readonly kind = 'engine' as const;
  readonly monitorComms = ['conmon'];
  bin = 'podman';

  detect(_ctx: BenchContext): Detection {
    const bin = which('podman');
    if (!bin)
      return unavailable(
        'podman',
        'podman is not installed',
        'apt-get install -y podman conmon catatonit uidmap fuse-overlayfs containernetworking-plugins',
      );
    this.bin = bin;
    const v = sh([bin, '--version']);
    const version = /version\s+(\S+)/.exec(v.stdout)?.[1];
    if (!version)
      return unavailable(
        'podman',
        `podman --version failed: ${v.stderr.trim().split('\n')[0]}`,
        'apt-get install --reinstall -y podman',
      );
    if (!which('runc'))
      return unavailable(
        'podman',
        'podman is run with --runtime runc here, and runc is not installed',
        'apt-get install -y runc',
      );
    // `--version` answers without Podman's runtime; `info` starts it as every run does (storage,
    // the network backend's lock in /etc/containers/networks): an installed Podman that cannot run
    // here, say with a read-only /etc, is a peer that is unavailable, with Podman's own reason.
    const info = sh([bin, ...PODMAN_GLOBAL, 'info', '--format', '{{.Store.GraphDriverName}}'], { timeoutMs: 60_000 });
    if (info.code !== 0) {
      const why = info.stderr.trim().split('\n').filter(Boolean).pop() ?? `exit status ${info.code}`;
      return unavailable(
        'podman',
        `podman cannot run here: \`podman info\` failed: ${why.replace(/^Error: /, '')}`,
        'podman info   # Podman needs a writable /etc/containers, /var/lib/containers and /run/containers',
      );
    }
    const conmon = /version\s+(\S+)/.exec(sh(['conmon', '--version']).stdout)?.[1];
    return {
      peer: 'podman',
      available: true,
      version: conmon ? `${version} (conmon ${conmon})` : version,
      notes: [
        '--runtime runc (crun, the default, refuses hybrid cgroups); --ulimit pinned (root lacks CAP_SYS_RESOURCE); --network none; cgroupfs manager (no systemd)',
      ],
      flags: [...PODMAN_GLOBAL, 'run', '--rm', ...PODMAN_RUN],
      caps: ALL_CAPS,
    };
  }

  prepare(ctx: BenchContext): void {
    const r = sh([this.bin, ...PODMAN_GLOBAL, 'import', ctx.rootfsTar, `localhost/${ctx.image}`]);
    if (r.code !== 0) throw new Error(`podman import failed: ${r.stderr.trim().split('\n').pop()}`);
  }

  private base(): string[] {
    return [this.bin, ...PODMAN_GLOBAL];
  }

  run(ctx: BenchContext, _id: string, w: Workload): Launch {
    return {
      argv: [
        ...this.base(),
        'run',
        '--rm',
        ...PODMAN_RUN,
        ...engineLimitFlags(w.limits),
        `localhost/${ctx.image}`,
        ...w.cmd,
      ],
    };
  }

  runKeep(ctx: BenchContext, id: string, w: Workload): Launch {
    return {
      argv: [
        ...this.base(),
        'run',
        '--name',
        id,
        ...PODMAN_RUN,
        ...engineLimitFlags(w.limits),
        `localhost/${ctx.image}`,
        ...w.cmd,
      ],
    };
  }

  report(_ctx: BenchContext, id: string): EngineReport {
    return inspectState([...this.base(), 'inspect', '--format', '{{json .State}}', id]);
  }

  start(ctx: BenchContext, id: string, w: Workload): Launch {
    return {
      argv: [
        ...this.base(),
        'run',
        '-d',
        '--name',
        id,
        ...PODMAN_RUN,
        ...engineLimitFlags(w.limits),
        `localhost/${ctx.image}`,
        ...w.cmd,
      ],
    };
  }

  exec(_ctx: BenchContext, id: string, cmd: string[]): Launch {
    return { argv: [...this.base(), 'exec', id, ...cmd] };
  }

  remove(_ctx: BenchContext, ids: string[]): Launch[] {
    // -t 0: `sleep` as PID 1 ignores SIGTERM; without it every removal waits the 10 s stop timeout
    return [{ argv: [...this.base(), 'rm', '-f', '-t', '0', ...ids] }];
  }

  cleanup(ctx: BenchContext): void {
    const left = sh([...this.base(), 'ps', '-aq', '--filter', `name=${ctx.tag}`])
      .stdout.split('\n')
      .filter(Boolean);
    if (left.length) sh([...this.base(), 'rm', '-f', '-t', '0', ...left]);
    sh([...this.base(), 'rmi', '-f', `localhost/${ctx.image}`]);
  }
}

// ---------------------------------------------------------------- Podman, rootless

/** The normal user rootless Podman runs as: scripts/build.sh's `minidock`, which has an /etc/subuid range. */
export const PODMAN_ROOTLESS_USER = 'minidock';

/**
 * Podman as a normal user (issue 18: what rootless costs, beside minidock's rootless row): the same
 * flags as root's, run through setpriv as PODMAN_ROOTLESS_USER, which newuidmap maps onto its
 * /etc/subuid range. Its storage (--root) and HOME are a private directory of that user's in the
 * bench's scratch directory, its --runroot and XDG_RUNTIME_DIR one in /tmp; the image is imported from
 * the same tar (no registry needed). Not a peer of its own: startup and limits add its rows beside
 * podman's. Rootless Podman leaves a pause process (catatonit -P, the keeper of its user namespace)
 * running after every command: cleanup() kills it by the pid Podman recorded, then removes the dir.
 */
export class PodmanRootless {
  readonly name = 'podman-rootless';
  /** the host's cgroup version as rootless Podman sees it ('v1': it ignores every limit), once prepared */
  cgroups = '';
  private dir = '';
  private runDir = '';
  private ids = { uid: -1, gid: -1 };
  private why: string | undefined;
  private bin = 'podman';

  /** Why it cannot run here (undefined: it can); prepares it the first time (the user's storage, the image). */
  unavailable(ctx: BenchContext): string | undefined {
    if (this.dir || this.why) return this.why;
    this.why = this.prepare(ctx);
    return this.why;
  }

  private prepare(ctx: BenchContext): string | undefined {
    if (process.getuid?.() !== 0) return 'the bench is not root, so it cannot run podman as another user';
    const bin = which('podman');
    if (!bin) return 'podman is not installed';
    this.bin = bin;
    if (!which('setpriv')) return 'setpriv (util-linux) not found';
    if (!which('newuidmap') || !which('newgidmap')) return 'newuidmap/newgidmap not installed (apt-get install uidmap)';
    const id = sh(['id', '-u', PODMAN_ROOTLESS_USER]);
    if (id.code !== 0) return `no user ${PODMAN_ROOTLESS_USER} (npm run build as root adds it)`;
    const user = [PODMAN_ROOTLESS_USER, id.stdout.trim()];
    const ranged = (f: string): boolean => {
      try {
        return readFileSync(f, 'utf8')
          .split('\n')
          .some((l) => user.includes(l.split(':')[0] ?? ''));
      } catch {
        return false;
      }
    };
    if (!ranged('/etc/subuid') || !ranged('/etc/subgid'))
      return `${PODMAN_ROOTLESS_USER} has no /etc/subuid and /etc/subgid range (npm run build as root adds one)`;
    this.ids = { uid: Number(id.stdout.trim()), gid: Number(sh(['id', '-g', PODMAN_ROOTLESS_USER]).stdout.trim()) };
    this.dir = `${ctx.work}/podman-rootless`;
    chmodSync(ctx.work, 0o711); // (the user passes through to its own directory and the tar)
    // (Podman refuses a runroot path longer than 50 characters: the run directory is in /tmp)
    this.runDir = mkdtempSync('/tmp/minidock-podman-run-');
    for (const d of [this.dir, `${this.dir}/home`]) mkdirSync(d, { mode: 0o700 });
    for (const d of [this.dir, `${this.dir}/home`, this.runDir]) chownSync(d, this.ids.uid, this.ids.gid);
    const tar = `${this.dir}/rootfs.tar`;
    copyFileSync(ctx.rootfsTar, tar);
    chownSync(tar, this.ids.uid, this.ids.gid);
    const imp = sh(this.argv(['import', tar, `localhost/${ctx.image}`]), { env: this.env() });
    if (imp.code !== 0) return `podman import as ${PODMAN_ROOTLESS_USER} failed: ${lastLine(imp.stderr)}`;
    const info = sh(this.argv(['info', '--format', '{{.Host.CgroupsVersion}}']), { env: this.env() });
    this.cgroups = info.stdout.trim();
    return undefined;
  }

  private env(): NodeJS.ProcessEnv {
    const { MINIDOCK_ROOT: _r, MINIDOCK_CGROUP_PARENT: _c, ...env } = process.env;
    return { ...env, HOME: `${this.dir}/home`, XDG_RUNTIME_DIR: this.runDir, USER: PODMAN_ROOTLESS_USER };
  }

  private argv(args: string[]): string[] {
    const [u, g] = [String(this.ids.uid), String(this.ids.gid)];
    return [
      'setpriv',
      '--reuid',
      u,
      '--regid',
      g,
      '--init-groups',
      '--',
      this.bin,
      ...PODMAN_GLOBAL,
      '--root',
      `${this.dir}/home/storage`,
      '--runroot',
      `${this.runDir}/storage`,
      ...args,
    ];
  }

  /** A foreground run that removes the container (`--rm`), as podman's run(). */
  run(ctx: BenchContext, _id: string, w: Workload): Launch {
    return {
      argv: this.argv([
        'run',
        '--rm',
        ...PODMAN_RUN,
        ...engineLimitFlags(w.limits),
        `localhost/${ctx.image}`,
        ...w.cmd,
      ]),
      env: this.env(),
    };
  }

  cleanup(): void {
    if (!this.dir) return;
    // the pause process: Podman's own record, checked to be this user's catatonit before the kill
    let pid = 0;
    try {
      pid = Number(readFileSync(`${this.runDir}/libpod/tmp/pause.pid`, 'utf8').trim());
    } catch {
      /* never started */
    }
    try {
      const st = statSync(`/proc/${pid}`);
      if (pid > 1 && st.uid === this.ids.uid && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'catatonit') {
        process.kill(pid, 'SIGKILL');
        // (gone once its parent, init, reaped it: up to 2 s, so that the bench's last look finds nothing)
        const nap = new Int32Array(new SharedArrayBuffer(4));
        for (let i = 0; i < 40 && existsSync(`/proc/${pid}`); i++) Atomics.wait(nap, 0, 0, 50);
      }
    } catch {
      /* gone */
    }
    for (const d of [this.dir, this.runDir]) if (d) rmSync(d, { recursive: true, force: true });
    this.dir = '';
    this.runDir = '';
  }
}

const lastLine = (s: string): string => s.trim().split('\n').filter(Boolean).pop() ?? '';

// ---------------------------------------------------------------- Docker

/** Debian's docker.io client, when present, before any other `docker` on PATH (the daemon is 20.10). */
export function dockerClient(): string | undefined {
  return which('/usr/bin/docker') ?? which('docker');
}

export class DockerPeer implements Peer {
  readonly name = 'docker';
  readonly kind = 'engine' as const;
  readonly monitorComms = ['dockerd', 'containerd', 'containerd-shim-runc-v2', 'containerd-shim'];
  bin = 'docker';

  detect(ctx: BenchContext): Detection {
    const bin = dockerClient();
    const fixInstall = 'apt-get install -y docker.io containerd runc';
    if (!bin || !which('dockerd'))
      return unavailable('docker', 'Docker (docker.io: dockerd and the docker client) is not installed', fixInstall);
    this.bin = bin;
    if (!ctx.daemons.docker) {
      return unavailable(
        'docker',
        'dockerd is not running (no systemd here: the daemons are started by hand)',
        'minidock bench peers --start-daemons   # or: containerd & dockerd --containerd /run/containerd/containerd.sock --iptables=false --ip6tables=false --ip-forward=false --storage-driver=overlay2 &',
      );
    }
    const v = sh([bin, '-H', `unix://${ctx.daemons.docker}`, 'version', '--format', '{{.Server.Version}}'], {
      timeoutMs: 10_000,
    });
    if (v.code !== 0)
      return unavailable(
        'docker',
        `dockerd at ${ctx.daemons.docker} does not answer: ${v.stderr.trim().split('\n')[0]}`,
        'minidock bench peers --start-daemons',
      );
    return {
      peer: 'docker',
      available: true,
      version: v.stdout.trim(),
      notes: [
        '--network none; dockerd started with --iptables=false --ip6tables=false --ip-forward=false --storage-driver=overlay2 (docker0 for --network bridge; published ports through docker-proxy); runtime runc via containerd-shim-runc-v2',
      ],
      flags: ['-H', `unix://${ctx.daemons.docker}`, 'run', '--rm', '--network', 'none'],
      caps: ALL_CAPS,
    };
  }

  private base(ctx: BenchContext): string[] {
    return [this.bin, '-H', `unix://${ctx.daemons.docker ?? '/var/run/docker.sock'}`];
  }

  prepare(ctx: BenchContext): void {
    const r = sh([...this.base(ctx), 'import', ctx.rootfsTar, ctx.image]);
    if (r.code !== 0) throw new Error(`docker import failed: ${r.stderr.trim().split('\n').pop()}`);
  }

  run(ctx: BenchContext, _id: string, w: Workload): Launch {
    return {
      argv: [...this.base(ctx), 'run', '--rm', '--network', 'none', ...engineLimitFlags(w.limits), ctx.image, ...w.cmd],
    };
  }

  runKeep(ctx: BenchContext, id: string, w: Workload): Launch {
    return {
      argv: [
        ...this.base(ctx),
        'run',
        '--name',
        id,
        '--network',
        'none',
        ...engineLimitFlags(w.limits),
        ctx.image,
        ...w.cmd,
      ],
    };
  }

  report(ctx: BenchContext, id: string): EngineReport {
    return inspectState([...this.base(ctx), 'inspect', '--format', '{{json .State}}', id]);
  }

  start(ctx: BenchContext, id: string, w: Workload): Launch {
    return {
      argv: [
        ...this.base(ctx),
        'run',
        '-d',
        '--name',
        id,
        '--network',
        'none',
        ...engineLimitFlags(w.limits),
        ctx.image,
        ...w.cmd,
      ],
    };
  }

  exec(ctx: BenchContext, id: string, cmd: string[]): Launch {
    return { argv: [...this.base(ctx), 'exec', id, ...cmd] };
  }

  remove(ctx: BenchContext, ids: string[]): Launch[] {
    return [{ argv: [...this.base(ctx), 'rm', '-f', ...ids] }];
  }

  cleanup(ctx: BenchContext): void {
    if (!ctx.daemons.docker) return;
    const left = sh([...this.base(ctx), 'ps', '-aq', '--filter', `name=${ctx.tag}`])
      .stdout.split('\n')
      .filter(Boolean);
    if (left.length) sh([...this.base(ctx), 'rm', '-f', ...left]);
    sh([...this.base(ctx), 'rmi', '-f', ctx.image]);
  }
}

// ---------------------------------------------------------------- containerd (ctr)

export class CtrPeer implements Peer {
  readonly name = 'ctr';
  readonly kind = 'engine' as const;
  readonly monitorComms = ['containerd', 'containerd-shim-runc-v2'];
  private execs = 0;

  detect(ctx: BenchContext): Detection {
    if (!which('ctr') || !which('containerd'))
      return unavailable('ctr', 'containerd (ctr) is not installed', 'apt-get install -y containerd runc');
    if (!ctx.daemons.containerd) {
      return unavailable(
        'ctr',
        'containerd is not running (no systemd here)',
        'minidock bench peers --start-daemons   # or: containerd &',
      );
    }
    const v = sh(['ctr', '-a', ctx.daemons.containerd, 'version'], { timeoutMs: 10_000 });
    const version = /Server:[\s\S]*?Version:\s+(\S+)/.exec(v.stdout)?.[1];
    if (v.code !== 0 || !version)
      return unavailable(
        'ctr',
        `containerd at ${ctx.daemons.containerd} does not answer: ${v.stderr.trim().split('\n')[0]}`,
        'minidock bench peers --start-daemons',
      );
    return {
      peer: 'ctr',
      available: true,
      version,
      notes: [
        'image: a hand-built OCI image layout tar of the same rootfs (ctr image import); runtime io.containerd.runc.v2 (runc)',
      ],
      flags: ['-a', ctx.daemons.containerd, '-n', ctx.tag, 'run', '--rm'],
      caps: {
        ...ALL_CAPS,
        limits: { memory: true, cpus: true, pids: false },
        missing: ['ctr run has no pids-limit flag'],
      },
    };
  }

  ctrImage(ctx: BenchContext): string {
    return `docker.io/library/${ctx.image}:latest`;
  }

  private base(ctx: BenchContext): string[] {
    return ['ctr', '-a', ctx.daemons.containerd ?? '/run/containerd/containerd.sock', '-n', ctx.tag];
  }

  prepare(ctx: BenchContext): void {
    const r = sh([...this.base(ctx), 'image', 'import', ctx.ociTar]);
    if (r.code !== 0) throw new Error(`ctr image import failed: ${r.stderr.trim().split('\n').pop()}`);
  }

  limitFlags(l: BenchLimits = {}): string[] {
    const f: string[] = [];
    // (ctr run has no swap flag: memorySwapBytes cannot be passed, so swap stays the kernel's default)
    if (l.memoryBytes !== undefined) f.push('--memory-limit', String(l.memoryBytes));
    if (l.cpus !== undefined) f.push('--cpu-quota', String(Math.round(l.cpus * 100_000)), '--cpu-period', '100000');
    return f;
  }

  run(ctx: BenchContext, id: string, w: Workload): Launch {
    return { argv: [...this.base(ctx), 'run', '--rm', ...this.limitFlags(w.limits), this.ctrImage(ctx), id, ...w.cmd] };
  }

  start(ctx: BenchContext, id: string, w: Workload): Launch {
    return {
      argv: [...this.base(ctx), 'run', '-d', ...this.limitFlags(w.limits), this.ctrImage(ctx), id, ...w.cmd],
      stdout: 'ignore',
    };
  }

  exec(ctx: BenchContext, id: string, cmd: string[]): Launch {
    return { argv: [...this.base(ctx), 'task', 'exec', '--exec-id', `e${++this.execs}`, id, ...cmd] };
  }

  remove(ctx: BenchContext, ids: string[]): Launch[] {
    return ids.flatMap((id) => [
      { argv: [...this.base(ctx), 'task', 'kill', '-s', 'SIGKILL', id] },
      { argv: [...this.base(ctx), 'task', 'delete', '-f', id] },
      { argv: [...this.base(ctx), 'container', 'delete', id] },
    ]);
  }

  cleanup(ctx: BenchContext): void {
    if (!ctx.daemons.containerd) return;
    const left = sh([...this.base(ctx), 'container', 'list', '-q'])
      .stdout.split('\n')
      .filter(Boolean);
    for (const id of left) {
      sh([...this.base(ctx), 'task', 'delete', '-f', id]);
      sh([...this.base(ctx), 'container', 'delete', id]);
    }
    sh([...this.base(ctx), 'image', 'remove', this.ctrImage(ctx)]);
    sh(['ctr', '-a', ctx.daemons.containerd, 'namespace', 'remove', ctx.tag]);
  }
}
