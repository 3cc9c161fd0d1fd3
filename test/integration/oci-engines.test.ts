// Real engines driving minidock as their OCI runtime (issue 16): Podman with conmon, containerd's
// runc v2 shim through ctr, and dockerd --add-runtime. Each engine is private to this file: its
// storage, state, sockets and the runtime's --root under one temp dir, its containers under one cgroup
// parent (minidock-test-XXXX: the leak check's), the daemons (containerd, dockerd) started here and
// stopped after. No registry is reachable, so the image is the project's busybox ./rootfs as a layer
// tar: `podman import`, `docker import`, and for ctr a `docker save`-style archive made here.
// Each engine's tests skip visibly, naming it, when it is not installed.
//
// What the engines call (observed with a logging wrapper; docs/oci.md "Engines"):
//   conmon:   create --bundle B --pid-file F [--console-socket S] ID; start ID; exec ...; kill ID 15; delete --force ID
//   ctr/dockerd (the runc v2 shim): --root R --log B/log.json --log-format json create --bundle B --pid-file F ID, ...
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { allCgroupDirs } from '../../src/runtime/cgroups/index.js';
import {
  canRun,
  cgroupParentFor,
  hostSnapshot,
  onTerminal,
  removeStateRoot,
  ROOT_DIR,
  ROOTFS,
  skipReason,
  tempStateRoot,
  waitFor,
} from '../helpers';

const OCI = join(ROOT_DIR, 'bin', 'minidock-oci.js');
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const absent = (...cmds: string[]) => cmds.filter((c) => !has(c));
/** "" when this engine's tests can run, else why not (shown in the test names) */
function skipFor(...cmds: string[]): string {
  if (!canRun) return skipReason;
  const missing = absent(...cmds);
  return missing.length ? `${missing.join(', ')} not installed` : '';
}
const podmanSkip = skipFor('podman', 'conmon');
const ctrSkip = skipFor('containerd', 'ctr', 'containerd-shim-runc-v2');
const dockerSkip = skipFor('dockerd', 'docker', 'containerd', 'containerd-shim-runc-v2');

let root: string; // the temp dir holding everything of every engine here
let parent: string; // the cgroup parent of every container here
const IMAGE = 'localhost/minidock-test-bb:latest';

function run(cmd: string, args: string[], timeout = 60_000): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { encoding: 'utf8', timeout, stdio: ['ignore', 'pipe', 'pipe'] });
}
/** stdout, or the failure with everything the engine said */
function ok(r: SpawnSyncReturns<string>): string {
  if (r.status !== 0) {
    // (spawnSync's timeout ends with SIGTERM: say which command hung, not only that the test did)
    const what =
      r.error && /ETIMEDOUT/.test(String(r.error)) ? `timed out: ${r.spawnargs?.join(' ')}` : `exit ${r.status}`;
    throw new Error(`${what} ${r.signal ?? ''}: ${r.stderr}${r.stdout}`);
  }
  return r.stdout;
}

/** What a container could leave on the host: mounts under root, cgroups under the parent, the
 * runtime's state (that of this file's bundles, all under root), processes in those cgroups. The
 * engines' own cgroups (Podman's conmon, beside its containers) are theirs, made as well with runc. */
function snapshot(ociRoot: string) {
  const s = hostSnapshot(root);
  // (hostSnapshot's cgroups are those named minidock*: an engine names its containers' otherwise)
  const cgroups = allCgroupDirs()
    .filter((d) => d.includes(`/${parent}/`) && !d.endsWith('/conmon'))
    .sort();
  const procs = readdirSync('/proc').filter(
    (p) =>
      /^\d+$/.test(p) &&
      (() => {
        try {
          return readFileSync(`/proc/${p}/cgroup`, 'utf8')
            .split('\n')
            .some((l) => l.includes(`/${parent}/`) && !l.endsWith('/conmon'));
        } catch {
          return false; // exited meanwhile
        }
      })(),
  );
  const state = (existsSync(ociRoot) ? readdirSync(ociRoot) : []).filter((id) => {
    try {
      return (
        JSON.parse(readFileSync(join(ociRoot, id, 'state.json'), 'utf8')) as { bundle: string }
      ).bundle.startsWith(root);
    } catch {
      return true; // a state dir without a readable state.json is a leftover too
    }
  });
  return { mounts: s.mounts, cgroups, state, procs };
}
/** While a container runs, the leak check sees it: its cgroup (named after `name`), its state, its
 * processes — so that an empty before/after difference means it is gone, not that we looked elsewhere. */
function expectSeen(ociRoot: string, name: string, stateId: string): void {
  const s = snapshot(ociRoot);
  expect(s.cgroups.some((c) => c.includes(`/${parent}/`) && c.endsWith(name))).toBe(true);
  expect(s.state).toContain(stateId);
  expect(s.procs.length).toBeGreaterThan(0);
}
function leakChecked(ociRoot: () => string) {
  let before: ReturnType<typeof snapshot>;
  beforeEach(() => {
    before = snapshot(ociRoot());
  });
  afterEach(async () => {
    // (an engine removes the container asynchronously after the command returns: give it a moment)
    await waitFor(
      () => JSON.stringify(snapshot(ociRoot())) === JSON.stringify(before),
      10_000,
      'the container to be gone',
    ).catch(() => undefined);
    expect(snapshot(ociRoot())).toEqual(before);
  });
}

/** The project's rootfs as a layer tar (without its README and build script). */
function layerTar(): string {
  const tar = join(root, 'layer.tar');
  if (!existsSync(tar))
    ok(run('tar', ['-C', ROOTFS, '--exclude=./README.md', '--exclude=./build.sh', '-cf', tar, '.']));
  return tar;
}

/** The memory and pids limits as the container reads them: cgroup v1 files, or v2's (the host's
 * kind is the container's: it mounts its own cgroups the same way; the test names say which). */
const CGROUP_FILES = existsSync('/sys/fs/cgroup/cgroup.controllers')
  ? 'cgroup v2: memory.max, pids.max'
  : 'cgroup v1: memory.limit_in_bytes, pids.max';
const LIMITS_SH =
  'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max';

beforeAll(() => {
  if (!canRun) return;
  root = tempStateRoot();
  parent = cgroupParentFor(root);
});
afterAll(() => {
  if (root) removeStateRoot(root);
});

const hasRunc = has('runc');
describe.skipIf(!!podmanSkip)(`podman --runtime minidock-oci (${podmanSkip || 'podman and conmon found'})`, () => {
  // The runtime's state stays in its default root: `--runtime-flag root=DIR` reaches conmon's
  // create and start, but not the `delete --force` of Podman's exit command (observed), which
  // would then miss the container.
  const ociRoot = () => '/run/minidock-oci';
  // a private store and run dir; cgroupfs (minidock-oci refuses --systemd-cgroup)
  const GLOBAL = () => [
    '--root',
    join(root, 'podman', 'storage'),
    '--runroot',
    join(root, 'podman', 'run'),
    '--tmpdir',
    join(root, 'podman', 'tmp'),
    '--cgroup-manager',
    'cgroupfs',
    '--events-backend',
    'file',
    '--runtime',
    OCI,
  ];
  const podman = (args: string[], timeout?: number) => run('podman', [...GLOBAL(), ...args], timeout);
  // Podman's default RLIMIT_NOFILE (1048576) and NPROC are above the hard limits of a caller
  // without CAP_SYS_RESOURCE, and setrlimit cannot raise a hard limit without it (runc fails the
  // same way): give values every caller can set. No network: no CNI/netavark set-up needed.
  const RUN = () => [
    '--network',
    'none',
    '--cgroup-parent',
    `/${parent}`,
    '--ulimit',
    'nofile=1024:1024',
    '--ulimit',
    'nproc=1024:1024',
  ];
  beforeAll(() => {
    ok(podman(['import', layerTar(), IMAGE]));
  });
  afterAll(() => {
    podman(['rm', '-a', '-f', '-t', '0']);
    podman(['rmi', '-a', '-f']);
    // conmon's own cgroup, <parent>/conmon (Podman makes it and leaves it, with runc too)
    for (const h of ['', ...readdirSync('/sys/fs/cgroup')]) {
      try {
        rmdirSync(join('/sys/fs/cgroup', h, parent, 'conmon'));
      } catch {
        /* not there, or not a hierarchy */
      }
    }
  });
  leakChecked(ociRoot);

  it('run --rm IMAGE echo ok: the output, exit 0', () => {
    const r = podman(['run', '--rm', ...RUN(), IMAGE, 'echo', 'ok']);
    expect([r.status, r.stdout]).toEqual([0, 'ok\n']);
  });

  it.skipIf(!has('script'))(
    `run --rm -it: a pty through --console-socket (under script(1)${has('script') ? '' : ': not installed, skipped'})`,
    async () => {
      const cmd = [
        'podman',
        ...GLOBAL(),
        'run',
        '--rm',
        '-it',
        ...RUN(),
        IMAGE,
        'sh',
        '-c',
        "'tty; echo $((6*7))'",
      ].join(' ');
      // onTerminal keeps script's stdin open, as a user's terminal does. At EOF on it, script hands
      // Podman an EOF, and a container that starts after that (its runtime's start took longer than
      // Podman took to read the EOF) prints to nobody: seen with minidock (2 runs in 30) and with
      // runc delayed 0.3 s before its start (3 in 30); the output is in the log.
      const r = await onTerminal(cmd);
      expect(r.code).toBe(0);
      // (the pty carries the runtime's warnings too, before the container's output)
      expect(r.out.replace(/\r/g, '')).toMatch(/(^|\n)\/dev\/pts\/\d+\n42\n$/);
    },
    60_000,
  );

  it('run -d, exec, logs, stop (SIGTERM reaches the trap), the exit code, rm', () => {
    const id = ok(
      podman([
        'run',
        '-d',
        ...RUN(),
        IMAGE,
        'sh',
        '-c',
        'echo started; trap "echo bye; exit 3" TERM; while true; do sleep 0.1; done',
      ]),
    ).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expectSeen(ociRoot(), `libpod-${id}`, id);
    expect(ok(podman(['exec', id, 'sh', '-c', 'echo exec-$((6*7)); cat /proc/1/comm']))).toBe('exec-42\nsh\n');
    expect(ok(podman(['logs', id]))).toBe('started\n');
    ok(podman(['stop', '-t', '10', id]));
    expect(ok(podman(['inspect', '-f', '{{.State.ExitCode}}', id])).trim()).toBe('3');
    expect(ok(podman(['logs', id]))).toBe('started\nbye\n');
    ok(podman(['rm', id]));
  });

  // runc is the yardstick: the same Podman commands with --runtime runc answer the same
  it.skipIf(!hasRunc)(
    `the same run and limits under podman --runtime runc: the same output${hasRunc ? '' : ' (runc not installed, skipped)'}`,
    () => {
      const GLOBAL_RUNC = GLOBAL().map((a) => (a === OCI ? 'runc' : a));
      for (const args of [
        ['echo', 'ok'],
        ['sh', '-c', LIMITS_SH],
      ]) {
        const cmd = ['run', '--rm', ...RUN(), '--memory', '50m', '--pids-limit', '33', IMAGE, ...args];
        const ours = podman(cmd);
        const runc = run('podman', [...GLOBAL_RUNC, ...cmd]);
        expect([ours.status, ours.stdout]).toEqual([runc.status, runc.stdout]);
        expect(ours.status).toBe(0);
      }
    },
  );

  it(`--memory 50m --pids-limit 33: the container's cgroup files say so (${CGROUP_FILES})`, () => {
    const r = podman(['run', '--rm', ...RUN(), '--memory', '50m', '--pids-limit', '33', IMAGE, 'sh', '-c', LIMITS_SH]);
    expect([r.status, r.stdout]).toEqual([0, `${50 * 1024 * 1024}\n33\n`]);
  });
});

/** A daemon started by a test, stopped (SIGTERM, then SIGKILL) after. */
function daemon(cmd: string, args: string[], log: string, ready: () => boolean) {
  const out = join(root, log);
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'ignore'], detached: false });
  writeFileSync(out, `${cmd} ${args.join(' ')}\n`);
  return {
    started: waitFor(() => ready() || child.exitCode !== null, 30_000, `${cmd} to start`).then(() => {
      if (child.exitCode !== null) throw new Error(`${cmd} exited ${child.exitCode}`);
    }),
    async stop(): Promise<void> {
      if (child.exitCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await gone;
      clearTimeout(t);
    },
  };
}

/** A `docker save`-style archive of the rootfs layer, which `ctr image import` reads. */
function dockerArchive(): string {
  const dir = join(root, 'archive');
  const out = join(root, 'bb-image.tar');
  mkdirSync(dir, { recursive: true });
  const layer = layerTar();
  const digest = ok(run('sha256sum', [layer])).split(' ')[0];
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] },
      rootfs: { type: 'layers', diff_ids: [`sha256:${digest}`] },
    }),
  );
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify([{ Config: 'config.json', RepoTags: [IMAGE], Layers: ['layer.tar'] }]),
  );
  ok(run('tar', ['-C', dir, '-cf', out, 'config.json', 'manifest.json', '-C', root, 'layer.tar']));
  return out;
}

describe.skipIf(!!ctrSkip)(
  `containerd: ctr run --runc-binary minidock-oci (${ctrSkip || 'containerd, ctr and the runc shim found'})`,
  () => {
    // (the shim's --root is --runc-root/NAMESPACE: observed)
    const ociRoot = () => join(root, 'ctr-oci', 'minidock-test');
    const sock = () => join(root, 'containerd', 'containerd.sock');
    let containerd: ReturnType<typeof daemon>;
    const ctr = (args: string[], timeout?: number) =>
      run('ctr', ['--address', sock(), '--namespace', 'minidock-test', ...args], timeout);
    // the runc v2 shim runs minidock-oci as its runc, with its state under our temp dir
    const RUN = (id: string) => [
      '--runc-binary',
      OCI,
      '--runc-root',
      join(root, 'ctr-oci'),
      '--cgroup',
      `/${parent}/${id}`,
    ];
    beforeAll(async () => {
      const dir = join(root, 'containerd');
      mkdirSync(dir, { recursive: true });
      // a private containerd: its own root, state and sockets; no CRI plugin (no kubelet here)
      writeFileSync(
        join(dir, 'config.toml'),
        [
          'version = 2',
          `root = "${dir}/root"`,
          `state = "${dir}/state"`,
          'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
          '[grpc]',
          `  address = "${sock()}"`,
          '[ttrpc]',
          `  address = "${sock()}.ttrpc"`,
          '',
        ].join('\n'),
      );
      containerd = daemon('containerd', ['--config', join(dir, 'config.toml')], 'containerd.log', () =>
        existsSync(sock()),
      );
      await containerd.started;
      ok(ctr(['image', 'import', dockerArchive()]));
    });
    afterAll(async () => {
      // (after a failed test: its tasks killed and removed, so that the shims exit with containerd)
      for (const id of ok(ctr(['task', 'ls', '-q']))
        .split('\n')
        .filter(Boolean)) {
        ctr(['task', 'kill', '-s', 'SIGKILL', id]);
        ctr(['task', 'rm', '-f', id]);
      }
      for (const id of ok(ctr(['container', 'ls', '-q']))
        .split('\n')
        .filter(Boolean))
        ctr(['container', 'rm', id]);
      await containerd?.stop();
    });
    leakChecked(ociRoot);

    it('ctr run --rm IMAGE ID echo ok: the output, exit 0', () => {
      const r = ctr(['run', '--rm', ...RUN('c1'), IMAGE, 'c1', 'echo', 'ok']);
      expect([r.status, r.stdout]).toEqual([0, 'ok\n']);
    });

    it('ctr run -d, ctr task exec, ctr task kill (SIGTERM reaches the trap), task and container removed', async () => {
      ok(
        ctr(['run', '-d', ...RUN('c2'), IMAGE, 'c2', 'sh', '-c', 'trap "exit 7" TERM; while true; do sleep 0.1; done']),
      );
      expectSeen(ociRoot(), '/c2', 'c2');
      expect(
        ok(ctr(['task', 'exec', '--exec-id', 'e1', 'c2', 'sh', '-c', 'echo exec-$((6*7)); cat /proc/1/comm'])),
      ).toBe('exec-42\nsh\n');
      ok(ctr(['task', 'kill', 'c2']));
      await waitFor(() => /\bSTOPPED\b/.test(ok(ctr(['task', 'ls']))), 10_000, 'the task to stop');
      ok(ctr(['task', 'rm', 'c2']));
      ok(ctr(['container', 'rm', 'c2']));
    });

    it(`ctr run --memory-limit 52428800: the container's cgroup file says so (${CGROUP_FILES})`, () => {
      const r = ctr([
        'run',
        '--rm',
        ...RUN('c3'),
        '--memory-limit',
        String(50 * 1024 * 1024),
        IMAGE,
        'c3',
        'sh',
        '-c',
        LIMITS_SH.split(';')[0]!,
      ]);
      expect([r.status, r.stdout]).toEqual([0, `${50 * 1024 * 1024}\n`]);
    });
  },
);

describe.skipIf(!!dockerSkip)(
  `dockerd --add-runtime minidock=minidock-oci (${dockerSkip || 'dockerd and docker found'})`,
  () => {
    const dir = () => join(root, 'docker');
    // (dockerd 20.10 gives every runtime the shim's --root <exec-root>/runtime-runc/moby: observed)
    const ociRoot = () => join(dir(), 'exec', 'runtime-runc', 'moby');
    const sock = () => join(dir(), 'docker.sock');
    let dockerd: ReturnType<typeof daemon>;
    const docker = (args: string[], timeout?: number) => run('docker', ['-H', `unix://${sock()}`, ...args], timeout);
    const RUN = () => ['--runtime', 'minidock', '--network', 'none', '--cgroup-parent', `/${parent}`];
    beforeAll(async () => {
      mkdirSync(dir(), { recursive: true });
      // a private dockerd (its own data, exec root, pidfile, socket and managed containerd) that
      // touches no network set-up of the host: no bridge, no iptables
      dockerd = daemon(
        'dockerd',
        [
          '--data-root',
          join(dir(), 'data'),
          '--exec-root',
          join(dir(), 'exec'),
          '--pidfile',
          join(dir(), 'docker.pid'),
          '-H',
          `unix://${sock()}`,
          '--bridge',
          'none',
          '--iptables=false',
          '--ip6tables=false',
          '--ip-masq=false',
          '--add-runtime',
          `minidock=${OCI}`,
        ],
        'dockerd.log',
        () => existsSync(sock()) && docker(['info'], 10_000).status === 0,
      );
      await dockerd.started;
      ok(docker(['import', layerTar(), IMAGE]));
    });
    afterAll(async () => {
      docker([
        'rm',
        '-f',
        ...ok(docker(['ps', '-aq']))
          .split('\n')
          .filter(Boolean),
      ]);
      await dockerd?.stop();
    });
    leakChecked(ociRoot);

    it('docker run --rm --runtime minidock IMAGE echo ok: the output, exit 0', () => {
      const r = docker(['run', '--rm', ...RUN(), IMAGE, 'echo', 'ok']);
      expect([r.status, r.stdout]).toEqual([0, 'ok\n']);
    });

    // Each command has a time limit of its own, well inside the test's, so that a hang names its
    // command (a CI run once spent the whole 60 s in one of them, and said only that the test timed out)
    it('docker run -d, exec, logs, stop (SIGTERM reaches the trap), the exit code, rm', { timeout: 150_000 }, () => {
      const id = ok(
        docker(
          [
            'run',
            '-d',
            ...RUN(),
            IMAGE,
            'sh',
            '-c',
            'echo started; trap "echo bye; exit 3" TERM; while true; do sleep 0.1; done',
          ],
          30_000,
        ),
      ).trim();
      expectSeen(ociRoot(), `/${id}`, id);
      expect(ok(docker(['exec', id, 'sh', '-c', 'echo exec-$((6*7)); cat /proc/1/comm'], 20_000))).toBe(
        'exec-42\nsh\n',
      );
      ok(docker(['stop', '-t', '10', id], 30_000));
      expect(ok(docker(['inspect', '-f', '{{.State.ExitCode}}', id], 15_000)).trim()).toBe('3');
      expect(ok(docker(['logs', id], 15_000))).toBe('started\nbye\n');
      ok(docker(['rm', id], 15_000));
    });

    it(`docker run --memory 50m --pids-limit 33: the container's cgroup files say so (${CGROUP_FILES})`, () => {
      const r = docker([
        'run',
        '--rm',
        ...RUN(),
        '--memory',
        '50m',
        '--pids-limit',
        '33',
        IMAGE,
        'sh',
        '-c',
        LIMITS_SH,
      ]);
      expect([r.status, r.stdout]).toEqual([0, `${50 * 1024 * 1024}\n33\n`]);
    });
  },
);
