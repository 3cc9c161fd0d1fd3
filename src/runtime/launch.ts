// launch(): run one container in the foreground and clean up after it, whatever happens.
//
//   TS   prepare dirs, create the cgroup and write its limits, build and encode the plan
//   C    md_spawn: clone(CLONE_NEW*) — the child starts running the plan at once
//   TS   write the child's pid into the cgroup, then release it (the child waits at SYNC)
//   C    child: ... unshare(CGROUP), caps, seccomp, execve; EOF on the report pipe == exec happened
//   TS   relay the pty (-t), forward signals, wait for the exit status, report OOM, clean up
import { closeSync, mkdirSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { posix } from 'node:path';
import { MinidockError } from '../errors.js';
import { errnoName } from '../sys/errno.js';
import { signalName, SIGNALS } from '../sys/constants.js';
import { mdLastFd, mdReaper, mdRecvFd, mdSpawn } from '../sys/native.js';
import { buildPlan, cloneFlags, type LayerDirs } from './build-plan.js';
import { createCgroup, type Cgroup, type CgroupStats } from './cgroups/index.js';
import { Op, encodePlan, type Step } from './plan.js';
import type { ContainerSpec } from './spec.js';
import { containerDir } from './state.js';
import { Timeline, type ChildRecord } from './trace.js';

const OVERLAYFS_SUPER_MAGIC = 0x794c7630;

export interface LaunchOptions {
  root: string;
  timeline: Timeline;
  /** called when exec succeeded: e.g. to start relaying a pty */
  onStarted?: (pid: number) => void;
}

export interface LaunchOutcome {
  exitCode: number; // shell-style: status, or 128+signal
  signal?: number;
  oomKilled: boolean;
  stats?: CgroupStats;
  cgroup?: Cgroup;
  steps: Step[];
  records: ChildRecord[];
  rusage?: { utimeUs: number; stimeUs: number; maxRssKb: number };
}

/** Read a pipe to EOF without blocking the event loop (libuv polls it; no thread-pool read). */
function readAll(fd: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = new Socket({ fd, readable: true, writable: false });
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(chunks)));
  });
}

function parseRecords(buf: Buffer): ChildRecord[] {
  const out: ChildRecord[] = [];
  for (let o = 0; o + 24 <= buf.length; o += 24) {
    out.push({ step: buf.readUInt32LE(o), err: buf.readInt32LE(o + 4), t0: buf.readBigUInt64LE(o + 8), t1: buf.readBigUInt64LE(o + 16) });
  }
  return out;
}

/** The failing step as one sentence: the syscall, the path, the errno name, and what to do. */
export function stepError(step: Step | undefined, err: number, spec: ContainerSpec): MinidockError {
  const name = errnoName(err);
  if (!step) return new MinidockError(`container setup failed: ${name}`);
  const path = typeof step.strs?.[1] === 'string' && step.op === Op.MOUNT ? step.strs[1] : typeof step.strs?.[0] === 'string' ? step.strs[0] : '';
  if (step.op === Op.EXEC) {
    const cmd = spec.args[0];
    if (err === 2) return new MinidockError(`exec "${cmd}": executable file not found in the container (${spec.args[0].includes('/') ? 'no such file' : 'searched $PATH'}) (ENOENT) — check the command exists in the rootfs`, 127);
    if (err === 13) return new MinidockError(`exec "${cmd}": permission denied (EACCES) — the file is not executable, or is a directory`, 126);
    if (err === 8) return new MinidockError(`exec "${cmd}": exec format error (ENOEXEC) — not a binary for this machine, or a script without #!`, 126);
    return new MinidockError(`exec "${cmd}": ${name}`, 126);
  }
  const call = ({
    [Op.MOUNT]: 'mount', [Op.UMOUNT2]: 'umount2', [Op.MKDIR]: 'mkdir', [Op.TOUCH]: 'open', [Op.SYMLINK]: 'symlink',
    [Op.SETHOSTNAME]: 'sethostname', [Op.CHDIR]: 'chdir', [Op.PIVOT_ROOT]: 'pivot_root', [Op.UNSHARE]: 'unshare',
    [Op.LOOPBACK_UP]: 'ioctl(SIOCSIFFLAGS, lo)', [Op.SETRLIMIT]: 'setrlimit', [Op.CAPBSET]: 'prctl(PR_CAPBSET_DROP)',
    [Op.CAPSET]: 'capset', [Op.NO_NEW_PRIVS]: 'prctl(PR_SET_NO_NEW_PRIVS)', [Op.SECCOMP]: 'seccomp', [Op.SETGROUPS]: 'setgroups',
    [Op.SETGID]: 'setresgid', [Op.SETUID]: 'setresuid', [Op.KEEPCAPS]: 'prctl(PR_SET_KEEPCAPS)', [Op.SYNC]: 'read(sync pipe)',
    [Op.CLOSE_FDS]: 'close_range', [Op.STDIO]: 'stdio setup', [Op.WRITE_FILE]: 'write', [Op.CONSOLE]: 'console (pty)',
  } as Record<number, string>)[step.op];
  let hint = step.why;
  if (step.op === Op.PIVOT_ROOT && err === 22) hint = 'the new root must be a mount point, and "/" must not be shared (the plan makes it private first)';
  else if (step.op === Op.MOUNT && step.strs?.[2] === 'overlay') {
    hint = err === 22
      ? 'overlayfs refused the layers: the upper/work directories cannot be on overlayfs, and lowerdir paths cannot contain ":" or ","'
      : 'check that ROOTFS is a directory the kernel can use as an overlay lower layer';
  } else if (step.op === Op.CHDIR && spec.cwd === path) hint = `-w ${spec.cwd}: the working directory does not exist in the container`;
  else if (step.op === Op.SYNC) hint = 'minidock did not release the container (it failed to join the cgroup)';
  return new MinidockError(`${call}(${path}): ${name} — ${hint}`);
}

function exitCodeOf(status: number): { code: number; signal?: number } {
  const sig = status & 0x7f;
  if (sig === 0) return { code: (status >> 8) & 0xff };
  return { code: 128 + sig, signal: sig };
}

export async function launch(spec: ContainerSpec, opts: LaunchOptions): Promise<LaunchOutcome> {
  const tl = opts.timeline;
  const dir = containerDir(opts.root, spec.id);
  let cgroup: Cgroup | undefined;
  let pid = -1;
  let reaped = false;
  let killTimer: NodeJS.Timeout | undefined;
  const cleanups: Array<() => void> = [];
  try {
    // 1. Directories for the overlay. If the state root itself is on overlayfs (minidock running
    //    inside a container), upper/work cannot live there: they go on a tmpfs mounted by the child.
    mkdirSync(posix.join(opts.root, 'containers'), { recursive: true, mode: 0o711 });
    mkdirSync(dir, { mode: 0o700 });
    cleanups.push(() => rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 }));
    const onOverlay = statfsSync(opts.root).type === OVERLAYFS_SUPER_MAGIC;
    const layer = onOverlay ? posix.join(dir, 'layer') : dir;
    const dirs: LayerDirs = { merged: posix.join(dir, 'merged'), upper: posix.join(layer, 'upper'), work: posix.join(layer, 'work') };
    mkdirSync(dirs.merged);
    if (onOverlay) {
      mkdirSync(layer);
      dirs.tmpfsFor = layer;
    } else {
      mkdirSync(dirs.upper);
      mkdirSync(dirs.work, { mode: 0o700 });
    }
    tl.mark('directories');

    // 2. The cgroup, with its limits, before the process exists.
    cgroup = createCgroup(`minidock-${spec.id.slice(0, 12)}`, spec.limits, { parent: spec.cgroupParent });
    tl.mark('cgroup create + limits');

    // 3. The plan, then clone.
    const steps = buildPlan(spec, dirs);
    const bytes = encodePlan(steps);
    tl.mark('plan built + encoded');
    // Forward SIGINT/SIGTERM/... from now on (a signal that arrives before the container has
    // exec'd still reaches it: it is blocked in the child until its handlers are reset).
    // PID 1 ignores signals it has no handler for, so after --stop-timeout it gets SIGKILL.
    const sigs: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
    const forward = (sig: NodeJS.Signals): void => {
      if (pid <= 0) return;
      try {
        process.kill(pid, sig);
      } catch { /* already gone */ }
      killTimer ??= setTimeout(() => {
        try {
          process.kill(pid, 'SIGKILL');
        } catch { /* gone */ }
      }, spec.stopTimeoutSec * 1000);
    };
    for (const s of sigs) process.on(s, forward);
    cleanups.push(() => {
      for (const s of sigs) process.off(s, forward);
      if (killTimer) clearTimeout(killTimer);
    });
    pid = mdSpawn(bytes, cloneFlags());
    if (pid < 0) throw new MinidockError(`clone(CLONE_NEWPID|NEWNS|NEWUTS|NEWIPC|NEWNET): ${errnoName(-pid)} — minidock must run as root on a kernel with namespaces`);
    const reportFd = mdLastFd(0);
    const syncFd = mdLastFd(1);
    const consoleFd = mdLastFd(3);
    const exitFd = mdReaper(pid);
    if (exitFd < 0) {
      process.kill(pid, 'SIGKILL');
      throw new MinidockError(`pthread_create(reaper): ${errnoName(-exitFd)}`);
    }
    const exited = readAll(exitFd).then((b) => {
      reaped = true;
      return b;
    });
    tl.mark('clone');

    // 4. Join the cgroup BEFORE exec: from the first instruction of the container's program, its
    //    memory, CPU and pids are accounted and limited. The child is parked at its SYNC step.
    let released = false;
    try {
      cgroup.join(pid);
      tl.mark('cgroup join');
      writeSync(syncFd, 'G');
      released = true;
    } finally {
      closeSync(syncFd); // without 'G', EOF tells the child to give up
      if (!released) await exited;
    }
    const records = parseRecords(await readAll(reportFd));
    tl.mark('child ran the plan');
    tl.child(steps, records);

    const last = records[records.length - 1];
    if (!last || last.err > 0) {
      await exited;
      if (consoleFd >= 0) closeSync(consoleFd);
      throw stepError(last ? steps[last.step] : undefined, last?.err ?? 0, spec);
    }
    let relay: import('./tty.js').Relay | undefined;
    if (consoleFd >= 0) {
      const master = mdRecvFd(consoleFd);
      closeSync(consoleFd);
      if (master < 0) throw new MinidockError(`recvmsg(console socket): ${errnoName(-master)} — the pty master never arrived`);
      relay = (await import('./tty.js')).startRelay(master); // loaded only for -t
      cleanups.push(() => relay?.stop());
    }
    opts.onStarted?.(pid);

    // 5. Wait for the exit status (signals are being forwarded, see above).
    const exit = await exited;
    // the last output may still sit in the pty: drain it (EIO comes right after)
    if (relay) await Promise.race([relay.done, new Promise((r) => setTimeout(r, 200))]);
    tl.mark('container ran');

    const status = exit.readInt32LE(0);
    const { code, signal } = exitCodeOf(status);
    const stats = cgroup.stats();
    const oomKilled = signal === SIGNALS.SIGKILL && (stats.oomKills ?? 0) > 0;
    return {
      exitCode: code, signal, oomKilled, stats, cgroup, steps, records,
      rusage: { utimeUs: Number(exit.readBigInt64LE(8)), stimeUs: Number(exit.readBigInt64LE(16)), maxRssKb: Number(exit.readBigInt64LE(24)) },
    };
  } finally {
    if (pid > 0 && !reaped) {
      // We are leaving early (an error): the container must not outlive us.
      try {
        process.kill(pid, 'SIGKILL');
      } catch { /* gone */ }
    }
    cgroup?.destroy();
    for (const c of cleanups.reverse()) {
      try {
        c();
      } catch { /* best effort; gc catches the rest */ }
    }
    tl.mark('cleanup');
  }
}

export { signalName };
