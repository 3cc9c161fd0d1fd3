// The OCI state directory: what `minidock-oci state|list|kill|delete` read, and what create/start
// will write. One directory per container under the root the engine passes (`--root`, default
// /run/minidock-oci, as runc's /run/runc): <root>/<id>/state.json.
//
// The record holds the runtime spec's state (runtime.md: ociVersion, id, status, pid, bundle,
// annotations) plus what minidock needs to act on it later: the init process's start time (a pid
// alone is recycled by the kernel: sys/proc.ts), the cgroup directories to remove on delete, the
// creation time and owner that `list` shows. The status on disk is the last one minidock set
// ("created" by create, "running" by start); "stopped" is never written but judged when the record
// is read: the init process is gone (or its pid now names another process). "paused" neither: it
// is the freezer's state of the container's cgroup (pause/resume: src/oci/control.ts).
//
// Library code: returns values, throws MinidockError; never prints.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fail, MinidockError } from '../errors.js';
import { isProcess } from '../sys/proc.js';
import { isFrozen, thawIfFrozen } from './cgroup.js';
import { OCI_VERSION } from './spec-default.js';
import type { Hooks } from './hooks.js';
import type { OciState, OciStatus } from './runtime-state.js';

export const DEFAULT_OCI_ROOT = '/run/minidock-oci';

/** state.json as kept on disk. */
export interface OciRecord {
  ociVersion: string;
  id: string;
  status: Exclude<OciStatus, 'stopped' | 'paused'>;
  pid: number;
  /** field 22 of /proc/PID/stat when the record was written */
  pidStart?: number;
  bundle: string;
  rootfs?: string;
  annotations?: Record<string, string>;
  /** ISO time of create */
  created: string;
  owner: string;
  /** cgroup directories create made, removed by delete */
  cgroupPaths?: string[];
  /** config.json's hooks as create read them: start runs poststart, delete poststop (hooks.ts) */
  hooks?: Hooks;
  /** startContainer hooks: the plan's steps past exec.fifo report to start on the fifo (launch.ts);
   * the index of the first HOOK step and of EXEC, which start's verdict names */
  startReport?: { hook: number; exec: number };
}

/** runc's rule for container IDs (libcontainer's idRegex): letters, digits, _ + - . and not "." or "..". */
export function checkId(id: string | undefined): string {
  if (!id) fail('container id cannot be empty — give the ID as the last argument');
  if (!/^[\w+\-.]+$/.test(id) || id === '.' || id === '..' || id.length > 1024)
    fail(`invalid container id ${JSON.stringify(id)}: use letters, digits, "_", "+", "-" and "."`);
  return id;
}

export function containerPath(root: string, id: string): string {
  return join(root, checkId(id));
}

/** Write a record atomically (rename): a reader sees the old one or the new one, never half. */
export function writeRecord(root: string, rec: OciRecord): void {
  const dir = containerPath(root, rec.id);
  mkdirSync(dir, { recursive: true, mode: 0o711 });
  const tmp = join(dir, `.state.json.${process.pid}`);
  writeFileSync(tmp, JSON.stringify(rec), { mode: 0o600 });
  renameSync(tmp, join(dir, 'state.json'));
}

/** The record, or undefined when there is no such container; a damaged one is an error naming it. */
export function readRecord(root: string, id: string): OciRecord | undefined {
  const file = join(containerPath(root, id), 'state.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR')
      return undefined;
    throw e;
  }
  try {
    const rec = JSON.parse(text) as OciRecord;
    if (rec.id !== id || typeof rec.pid !== 'number') throw new Error('wrong fields');
    return rec;
  } catch {
    return fail(
      `${file} is damaged (not the state minidock writes) — remove it with \`minidock-oci delete --force ${id}\``,
    );
  }
}

/** The record as the runtime spec's state: "stopped" once the init process is gone, "paused" while
 * its cgroup is frozen (runc's status for a frozen created or running container). */
export function stateOf(rec: OciRecord, alive = isProcess, frozen = isFrozen): OciState {
  const up = rec.pid > 0 && alive(rec.pid, rec.pidStart);
  const status: OciStatus =
    rec.status === 'creating' ? rec.status : !up ? 'stopped' : frozen(rec.cgroupPaths) ? 'paused' : rec.status;
  // (in runc's key order: ociVersion, id, pid, status, bundle, rootfs, created, annotations, owner)
  return {
    ociVersion: rec.ociVersion ?? OCI_VERSION,
    id: rec.id,
    pid: status === 'stopped' ? 0 : rec.pid,
    status,
    bundle: rec.bundle,
    ...(rec.rootfs ? { rootfs: rec.rootfs } : {}),
    created: rec.created,
    ...(rec.annotations && Object.keys(rec.annotations).length ? { annotations: rec.annotations } : {}),
    owner: rec.owner,
  };
}

/** The state of container `id`; "container does not exist" (runc's words) when there is none. */
export function loadState(root: string, id: string): { rec: OciRecord; state: OciState } {
  const rec = readRecord(root, id);
  if (!rec) throw new MinidockError('container does not exist', 1);
  return { rec, state: stateOf(rec) };
}

/** Every container under the root, sorted by id (a directory without state.json is skipped). */
export function listStates(root: string): OciState[] {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: OciState[] = [];
  for (const n of names.sort()) {
    if (!/^[\w+\-.]+$/.test(n) || n === '.' || n === '..') continue;
    const rec = readRecord(root, n);
    if (rec) out.push(stateOf(rec));
  }
  return out;
}

/**
 * Send `sig` to the container's init (or, with `all`, to every process of its cgroups). runc
 * refuses a stopped container; the pid is checked against its start time first, so a recycled pid
 * is never signalled. A paused container is thawed after a SIGKILL, as runc does: on cgroup v1 a
 * frozen task holds even SIGKILL pending until it thaws; any other signal waits for resume.
 */
export function killContainer(root: string, id: string, sig: number, all = false): void {
  const { rec, state } = loadState(root, id);
  if (state.status === 'stopped') throw new MinidockError('container not running', 1);
  const pids = new Set<number>([rec.pid]);
  if (all) for (const p of cgroupPids(rec.cgroupPaths ?? [])) pids.add(p);
  for (const p of pids) {
    try {
      process.kill(p, sig);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
    }
  }
  if (sig === 9 && state.status === 'paused') thawIfFrozen(rec.cgroupPaths);
}

function cgroupPids(dirs: string[]): number[] {
  const out: number[] = [];
  for (const d of dirs) {
    try {
      for (const l of readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n')) if (l) out.push(Number(l));
    } catch {
      /* gone */
    }
  }
  return out;
}

/**
 * Delete a container: a stopped (or created) one is removed; a running one only with `force`,
 * after SIGKILL and its end. With `force`, a container that does not exist is not an error (runc).
 * `waitGone` polls for the init's end (tests pass their own).
 */
export async function deleteContainer(
  root: string,
  id: string,
  force: boolean,
  waitGone = defaultWaitGone,
  onWarning?: (line: string) => void,
): Promise<void> {
  const rec = readRecord(root, id);
  if (!rec) {
    if (force) {
      rmSync(containerPath(root, id), { recursive: true, force: true }); // a damaged or half-made one
      return;
    }
    throw new MinidockError('container does not exist', 1);
  }
  const state = stateOf(rec);
  if ((state.status === 'running' || state.status === 'paused') && !force) {
    throw new MinidockError(
      `cannot delete container ${id} that is not stopped: ${state.status} (stop it with \`kill ${id} KILL\` or use delete --force)`,
      1,
    );
  }
  if (state.status !== 'stopped') {
    // created containers are deleted without --force, as runc does: nothing of the user's ran yet
    killContainer(root, id, 9, true);
    if (!(await waitGone(rec)))
      throw new MinidockError(
        `container ${id}: pid ${rec.pid} did not end within 10 s of SIGKILL; delete it again later`,
        1,
      );
  }
  // A dead init its parent has not reaped yet (the engine, or PID 1 after create exited) is a zombie,
  // and a zombie still counts in its v1 cgroups: rmdir would answer EBUSY until it is reaped.
  await waitReaped(rec);
  // (the same kill-then-rmdir, EBUSY retried, as every minidock container's cleanup)
  const { killAndRemove, realOps } = await import('../runtime/cgroups/util.js');
  killAndRemove(rec.cgroupPaths ?? [], realOps, true);
  rmSync(containerPath(root, id), { recursive: true, force: true });
  // runtime.md Lifecycle: the poststop hooks run once the container is destroyed; a failure is a warning
  if (rec.hooks?.poststop?.length) {
    const { runHooks } = await import('./hooks.js');
    await runHooks(
      rec.hooks,
      'poststop',
      stateOf(rec, () => false),
      onWarning,
    );
  }
}

async function defaultWaitGone(rec: OciRecord): Promise<boolean> {
  for (let i = 0; i < 500; i++) {
    if (!isProcess(rec.pid, rec.pidStart)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

/** Wait (up to 5 s) until the init's zombie is reaped: /proc/PID gone, or another process there. */
async function waitReaped(rec: OciRecord): Promise<void> {
  for (let i = 0; i < 250; i++) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${rec.pid}/stat`, 'utf8');
    } catch {
      return;
    }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (f[0] !== 'Z' || (rec.pidStart !== undefined && Number(f[19]) !== rec.pidStart)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}
