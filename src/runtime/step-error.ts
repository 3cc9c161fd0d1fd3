// What the child's step records say, as minidock says it: the child cannot format text (child.c
// runs between clone() and execve(), async-signal-safe calls only), so it reports {step, errno}
// records and this module, which knows why each step exists, writes the sentence.
import { MinidockError } from '../errors.js';
import { errnoName } from '../sys/errno.js';
import { Op, REPORT_BYTES, opInfo, type Step } from './plan.js';
import type { ContainerSpec } from './spec.js';
import type { ChildRecord } from './trace.js';

/** The report pipe's bytes as records (struct md_report in native/plan.h); a partial tail is dropped. */
export function parseRecords(buf: Buffer): ChildRecord[] {
  const out: ChildRecord[] = [];
  for (let o = 0; o + REPORT_BYTES <= buf.length; o += REPORT_BYTES) {
    out.push({
      step: buf.readUInt32LE(o),
      err: buf.readInt32LE(o + 4),
      t0: buf.readBigUInt64LE(o + 8),
      t1: buf.readBigUInt64LE(o + 16),
    });
  }
  return out;
}

/** The failing step as one sentence: the syscall, the path, the errno name, and what to do. */
export function stepError(step: Step | undefined, err: number, spec: ContainerSpec): MinidockError {
  if (!step) return new MinidockError(`container setup failed: ${errnoName(err)}`);
  // (a HOOK step's err may be an exit status: its row of the op table says so)
  const name = opInfo(step.op).failure?.(err, step.strs ?? [], step.ints ?? []) ?? errnoName(err);
  const path =
    typeof step.strs?.[1] === 'string' && (step.op === Op.MOUNT || step.op === Op.NETLINK)
      ? step.strs[1]
      : typeof step.strs?.[0] === 'string'
        ? step.strs[0]
        : '';
  if (step.op === Op.EXEC) {
    const cmd = spec.args[0];
    if (err === 2)
      return new MinidockError(
        `exec "${cmd}": executable file not found in the container (${spec.args[0].includes('/') ? 'no such file' : 'searched $PATH'}) (ENOENT) — check the command exists in the rootfs`,
        127,
      );
    if (err === 13)
      return new MinidockError(
        `exec "${cmd}": permission denied (EACCES) — the file is not executable, or is a directory`,
        126,
      );
    if (err === 8)
      return new MinidockError(
        `exec "${cmd}": exec format error (ENOEXEC) — not a binary for this machine, or a script without #!`,
        126,
      );
    return new MinidockError(`exec "${cmd}": ${name}`, 126);
  }
  const call = opInfo(step.op).syscall;
  let hint = step.why;
  if (step.op === Op.PIVOT_ROOT && err === 22)
    hint = 'the new root must be a mount point, and "/" must not be shared (the plan makes it private first)';
  else if (step.op === Op.MOUNT && step.strs?.[2] === 'overlay') {
    hint =
      err === 22
        ? 'overlayfs refused the layers: the upper/work directories cannot be on overlayfs, and lowerdir paths cannot contain ":" or ","'
        : 'check that ROOTFS is a directory the kernel can use as an overlay lower layer';
  } else if (step.op === Op.CHDIR && spec.cwd === path)
    hint = `-w ${spec.cwd}: the working directory does not exist in the container`;
  else if (step.op === Op.SYNC) hint = 'minidock did not release the container (it failed to join the cgroup)';
  return new MinidockError(`${call}(${path}): ${name} — ${hint}`);
}

/**
 * The launch's verdict from its step records (EOF has come): the error when a step failed — its
 * errno > 0 — or when there is no record at all (the child died before its first step); undefined
 * when the last record is a success, which after EOF means the child exec'd.
 */
export function launchFailure(records: ChildRecord[], steps: Step[], spec: ContainerSpec): MinidockError | undefined {
  const last = records[records.length - 1];
  if (last && last.err <= 0) return undefined;
  return stepError(last ? steps[last.step] : undefined, last?.err ?? 0, spec);
}
