// What minidock itself holds, which no container it starts can exceed: its permitted capabilities
// (callerPermittedCaps, limitToHeld: capability sets as bit masks) and its hard rlimits
// (callerHardLimit).
import { readFileSync } from 'node:fs';
import { fail } from '../errors.js';
import { CAPS, type CapName } from './capabilities.js';

/**
 * The capabilities minidock itself holds (CapPrm of /proc/self/status). A process can never give a
 * child more than its own permitted set: capset() refuses with EPERM. Root usually holds all of
 * them, but not always: this project's machines withhold CAP_SYS_RESOURCE (see docs/peers.md).
 */
export function callerPermittedCaps(status = '/proc/self/status'): bigint {
  try {
    // Not root (only --dry-run gets this far): the plan shown is a root launch's, and root's permitted
    // set after exec is the bounding set (capabilities(7): root's file sets count as all ones).
    const field = process.getuid?.() === 0 ? 'CapPrm' : 'CapBnd';
    const m = new RegExp(`^${field}:\\s*([0-9a-f]+)$`, 'm').exec(readFileSync(status, 'utf8'));
    return m ? BigInt('0x' + m[1]) : ~0n;
  } catch {
    return ~0n; // no /proc: let capset() decide
  }
}

/** Keep the capabilities minidock holds; --privileged takes what there is, anything else fails clearly. */
export function limitToHeld(caps: CapName[], privileged: boolean, held = callerPermittedCaps()): CapName[] {
  const has = (c: CapName): boolean => ((held >> BigInt(CAPS.indexOf(c))) & 1n ? true : false);
  const missing = caps.filter((c) => !has(c));
  if (missing.length && !privileged) {
    fail(
      `capabilities ${missing.join(', ')}: minidock itself does not hold ${missing.length > 1 ? 'them' : 'it'} (CapPrm in /proc/self/status), so no container it starts can — leave ${missing.length > 1 ? 'them' : 'it'} out (no --cap-add, or --cap-drop ${missing.map((c) => c.slice(4)).join(' --cap-drop ')}), or run minidock where it holds ${missing.length > 1 ? 'them' : 'it'}`,
    );
  }
  return caps.filter(has);
}

export function callerHardLimit(type: string): number {
  const names: Record<string, string> = {
    cpu: 'Max cpu time',
    fsize: 'Max file size',
    data: 'Max data size',
    stack: 'Max stack size',
    core: 'Max core file size',
    rss: 'Max resident set',
    nproc: 'Max processes',
    nofile: 'Max open files',
    memlock: 'Max locked memory',
    as: 'Max address space',
    locks: 'Max file locks',
    sigpending: 'Max pending signals',
    msgqueue: 'Max msgqueue size',
    nice: 'Max nice priority',
    rtprio: 'Max realtime priority',
    rttime: 'Max realtime timeout',
  };
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(names[type]));
  const hard = line?.slice(names[type].length).trim().split(/\s+/)[1];
  return !hard || hard === 'unlimited' ? Infinity : Number(hard);
}
