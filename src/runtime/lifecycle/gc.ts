// Garbage collection (minidock gc): clean up after keepers that died. A container whose monitor died, or whose
// launching minidock was SIGKILLed before the monitor took over, has nobody to clean up after it:
// gc kills what is left in its cgroups and removes them. A container that ran without --rm is the
// user's: gc records it as dead (with the reason) and leaves its state, log and upper layer to rm
// or prune, as Docker keeps its dead containers. Anything else (a launch that died half-way, --rm)
// goes entirely. Exited and dead containers are not garbage, nor is one whose state.json cannot be
// parsed (unknown: it may run; rm -f decides). ps, inspect and the other reading verbs only show the
// truth (dead, and why); they change nothing.
//
// A launch records its cgroups in state.json before it creates them, and an import names its
// scratch directory after itself (pid + start time): whenever either is SIGKILLed, gc finds what it
// left from that record and removes it at once, as soon as the owner is gone.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { listCgroups, openCgroup } from '../cgroups/index.js';
import { gcEntries, type GcReport } from '../container-store/gc.js';
import { listEntries } from '../container-store/listing.js';
import { sweepNames } from '../container-store/names.js';
import type { Entry } from '../container-store/records.js';
import { effectiveStatus } from '../container-store/staleness.js';

/**
 * Cgroups named minidock-<id> with no container directory left to point at them. A launch records
 * its cgroups before it creates them and every remover deletes the cgroups before the directory,
 * so this is a last net (cgroups of an older minidock, a removal that failed half-way); and as a
 * cgroup of another state root looks the same, only one that is empty and more than a minute old
 * is taken: a running container's processes are in its cgroup, and a launch fills its cgroup
 * within milliseconds.
 */
function orphanCgroups(): string[] {
  const opts = { parent: process.env.MINIDOCK_CGROUP_PARENT || undefined };
  const removed: string[] = [];
  for (const name of listCgroups('minidock-', opts)) {
    if (!/^minidock-[0-9a-f]{12}$/.test(name)) continue; // a container's (not a parent such as minidock-test-*)
    const cg = openCgroup(name, opts);
    if (!cg) continue;
    const inUse = cg.paths.some((p) => {
      try {
        return readFileSync(join(p, 'cgroup.procs'), 'utf8').trim() !== '' || Date.now() - statSync(p).mtimeMs < 60_000;
      } catch {
        return false; // already gone
      }
    });
    if (inUse) continue;
    cg.destroy();
    removed.push(name);
  }
  return removed;
}

export interface GarbageReport {
  /** the containers gc recorded dead (kept) or removed, and what it removed of each */
  containers: GcReport[];
  /** cgroups named minidock-<id> that no container points at any more */
  cgroups: string[];
  /** names released because their container is gone */
  names: string[];
  /** an import's scratch directories (tmp/<name>) whose maker is gone */
  scratch: string[];
  /** layers no image uses */
  layers: string[];
  /** containers left as they are: their state.json cannot be parsed */
  unreadable: Entry[];
  /** network leases, veths and published-port rules of containers that no longer run */
  network: string[];
}

/** Collect everything gc can in the state root `root` (see the top of this file). */
export async function collectGarbage(root: string): Promise<GarbageReport> {
  const entries = listEntries(root);
  const containers = gcEntries(root, entries);
  const cgroups = orphanCgroups();
  const names = sweepNames(root);
  // an import killed mid-way: its scratch directory and pin, then the layers it committed for an
  // image it never recorded (no image, pin or container uses them)
  const { gcLayers, sweepScratch } = await import('../../image/store.js');
  const scratch = sweepScratch(root);
  const layers = gcLayers(root);
  const network = await reclaimNetworks(root);
  return { containers, cgroups, names, scratch, layers, unreadable: entries.filter((e) => e.stateError), network };
}

/**
 * A container's address and ports belong to its running life: a lease whose container is gone,
 * exited or dead (a run -d container that exited, minidock SIGKILLed between the lease and the
 * state) is released with its veth and DNAT rules (network/wiring.ts reclaimNetwork). Only when a
 * network was ever made here (nft and netlink are not started otherwise).
 */
async function reclaimNetworks(root: string): Promise<string[]> {
  const { listNetworks } = await import('../network/ipam.js');
  if (listNetworks(root).length === 0) return [];
  const { reclaimNetwork } = await import('../network/wiring.js');
  const live = new Set(
    listEntries(root)
      .filter((e) => ['running', 'created'].includes(effectiveStatus(e)))
      .map((e) => e.id),
  );
  return reclaimNetwork(root, (id) => live.has(id));
}
