// containerd and dockerd for the benchmark. No systemd here, so nobody starts them: `--start-daemons`
// starts a private pair (own root, state and sockets under the bench's work directory, so they can
// never collide with daemons someone else runs) and the bench stops exactly those, by pid, at the end
// (and removes the docker0 its dockerd made, when there was none before).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { sh, sleepMs, which } from './proc.js';
import { dockerClient } from './peers/engines.js';
import type { DaemonEndpoints } from './peers/types.js';

export const DEFAULT_CONTAINERD = '/run/containerd/containerd.sock';
export const DEFAULT_DOCKER = '/var/run/docker.sock';

export function containerdAnswers(sock: string): boolean {
  return existsSync(sock) && !!which('ctr') && sh(['ctr', '-a', sock, 'version'], { timeoutMs: 5000 }).code === 0;
}

export function dockerAnswers(sock: string): boolean {
  const bin = dockerClient();
  return (
    existsSync(sock) &&
    !!bin &&
    sh([bin, '-H', `unix://${sock}`, 'version', '--format', '{{.Server.Version}}'], { timeoutMs: 8000 }).code === 0
  );
}

/** Daemons already running at their default sockets. */
export function findDaemons(): DaemonEndpoints {
  return {
    containerd: containerdAnswers(DEFAULT_CONTAINERD) ? DEFAULT_CONTAINERD : undefined,
    docker: dockerAnswers(DEFAULT_DOCKER) ? DEFAULT_DOCKER : undefined,
    started: [],
  };
}

/** The flags each private daemon is started with (recorded in the environment of the results). */
export function daemonArgv(dir: string): { containerd: string[]; dockerd: string[] } {
  return {
    containerd: ['containerd', '--config', join(dir, 'containerd.toml')],
    dockerd: [
      'dockerd',
      '--containerd',
      join(dir, 'containerd.sock'),
      // a default bridge network (docker0, made by dockerd; removed by stopDaemons when it made it),
      // so that bench network and startup --network bridge have Docker rows; but no firewall rule
      // and no sysctl of the host changed: published ports go through docker-proxy (the userland
      // proxy: 127.0.0.1:HOST -> the container's address over docker0), and containers on docker0
      // reach each other bridged, which neither iptables nor ip_forward takes part in
      '--iptables=false',
      '--ip6tables=false',
      '--ip-forward=false',
      '--storage-driver=overlay2',
      '--data-root',
      join(dir, 'docker-root'),
      '--exec-root',
      join(dir, 'docker-exec'),
      '--pidfile',
      join(dir, 'docker.pid'),
      '-H',
      `unix://${join(dir, 'docker.sock')}`,
      '--config-file',
      join(dir, 'daemon.json'),
    ],
  };
}

/** containerd's config: private paths, and no CRI plugin (it would open a streaming port for Kubernetes). */
export function containerdToml(dir: string): string {
  return [
    'version = 2',
    `root = "${join(dir, 'containerd-root')}"`,
    `state = "${join(dir, 'containerd-state')}"`,
    'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
    '[grpc]',
    `  address = "${join(dir, 'containerd.sock')}"`,
    '',
  ].join('\n');
}

async function waitUntil(ok: () => boolean, ms: number): Promise<boolean> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (ok()) return true;
    await sleepMs(200);
  }
  return ok();
}

/**
 * Start one daemon in the background (its output in DIR/NAME.log), record its pid in `started`, and
 * wait until it answers on its socket. Returns the socket, or undefined if it did not come up.
 */
async function startOne(
  dir: string,
  name: string,
  argv: string[],
  sock: string,
  answers: (sock: string) => boolean,
  waitMs: number,
  started: DaemonEndpoints['started'],
  log: (s: string) => void,
): Promise<string | undefined> {
  const fd = openSync(join(dir, `${name}.log`), 'a');
  const p = spawn(argv[0], argv.slice(1), { stdio: ['ignore', fd, fd], detached: true });
  closeSync(fd);
  p.unref();
  if (p.pid) started.push({ name, pid: p.pid });
  if (await waitUntil(() => answers(sock), waitMs)) {
    log(`started ${name} (pid ${p.pid}) at ${sock}`);
    return sock;
  }
  log(`${name} did not come up in ${waitMs / 1000} s: see ${join(dir, `${name}.log`)}`);
  return undefined;
}

/** dockerd's daemon.json: the OCI runtimes it may run besides runc (name -> path), as --add-runtime does. */
export function dockerDaemonJson(runtimes: Record<string, string> = {}): string {
  const entries = Object.entries(runtimes);
  if (!entries.length) return '{}\n';
  return `${JSON.stringify({ runtimes: Object.fromEntries(entries.map(([n, path]) => [n, { path }])) }, null, 1)}\n`;
}

/**
 * Start what is missing; returns the endpoints (and what was started, to stop later). `dockerRuntimes`
 * (name -> path) are registered with the dockerd started here: `docker run --runtime NAME` (the
 * engine × runtime pairs); a dockerd that already runs keeps the runtimes it was started with.
 */
export async function startDaemons(
  dir: string,
  have: DaemonEndpoints,
  log: (s: string) => void,
  dockerRuntimes: Record<string, string> = {},
): Promise<DaemonEndpoints> {
  const out: DaemonEndpoints = { ...have, started: [...have.started] };
  mkdirSync(dir, { recursive: true });
  const argv = daemonArgv(dir);
  if (!out.containerd && which('containerd')) {
    writeFileSync(join(dir, 'containerd.toml'), containerdToml(dir));
    out.containerd = await startOne(
      dir,
      'containerd',
      argv.containerd,
      join(dir, 'containerd.sock'),
      containerdAnswers,
      20_000,
      out.started,
      log,
    );
  }
  if (!out.docker && which('dockerd') && out.containerd) {
    writeFileSync(join(dir, 'daemon.json'), dockerDaemonJson(dockerRuntimes));
    const dockerd = [...argv.dockerd];
    dockerd[2] = out.containerd; // --containerd: the containerd we have (ours or the host's)
    const hadBridge = linkExists(DOCKER_BRIDGE);
    out.docker = await startOne(
      dir,
      'dockerd',
      dockerd,
      join(dir, 'docker.sock'),
      dockerAnswers,
      30_000,
      out.started,
      log,
    );
    // dockerd makes docker0 and leaves it when it stops: ours to remove, unless it was there before
    if (!hadBridge) out.madeLinks = [...(out.madeLinks ?? []), DOCKER_BRIDGE];
  }
  return out;
}

/** The bridge of the default network of a dockerd (its `bridge` network). */
export const DOCKER_BRIDGE = 'docker0';

const linkExists = (name: string): boolean => existsSync(`/sys/class/net/${name}`);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) Z /.test(stat);
  } catch {
    return false;
  }
}

/** Stop the daemons this run started, newest first (dockerd before its containerd), by pid. */
export async function stopDaemons(d: DaemonEndpoints, log: (s: string) => void): Promise<void> {
  for (const { name, pid } of [...d.started].reverse()) {
    if (!alive(pid)) continue;
    process.kill(pid, 'SIGTERM');
    if (!(await waitUntil(() => !alive(pid), 15_000))) {
      log(`${name} (pid ${pid}) ignored SIGTERM for 15 s: SIGKILL`);
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      await waitUntil(() => !alive(pid), 5000);
    }
    log(`stopped ${name} (pid ${pid})`);
  }
  d.started.length = 0;
  for (const link of d.madeLinks ?? []) {
    if (!linkExists(link)) continue;
    const r = sh(['ip', 'link', 'del', link], { timeoutMs: 10_000 });
    log(
      r.code === 0
        ? `removed ${link} (made by the dockerd this run started)`
        : `ip link del ${link}: ${r.stderr.trim()}`,
    );
  }
  d.madeLinks = [];
}
