// An OCI container's cgroup, as create recorded it (state.json cgroupPaths: one directory per v1
// hierarchy, or the cgroup2 directory), reopened through the cgroup library: what `state` asks
// (is it paused?), and what ps, pause, resume, update and events act on.
//
// Whether a container is paused is read from the freezer each time, never written into state.json
// (as the Docker-style verbs do it: src/runtime/lifecycle/pause.ts): a record can then never say
// "paused" of a container that is not, whoever thawed it.
//
// Library code: returns values, throws MinidockError; never prints.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freezerState, thaw } from '../runtime/cgroups/freezer.js';
import { openCgroupAt } from '../runtime/cgroups/index.js';
import type { Cgroup } from '../runtime/cgroups/types.js';

/** The container's cgroup, or undefined once none of its directories exists. */
export function ociCgroup(cgroupPaths: string[] | undefined): Cgroup | undefined {
  return cgroupPaths?.length ? openCgroupAt(cgroupPaths) : undefined;
}

/** Is every process of the container frozen? (false without a cgroup or a freezer) */
export function isFrozen(cgroupPaths: string[] | undefined): boolean {
  const cg = ociCgroup(cgroupPaths);
  return cg !== undefined && freezerState(cg) === 'FROZEN';
}

/** Thaw the container's cgroup if it is frozen or freezing (after a SIGKILL: nothing is left frozen). */
export function thawIfFrozen(cgroupPaths: string[] | undefined): void {
  const cg = ociCgroup(cgroupPaths);
  const st = cg && freezerState(cg);
  if (cg && (st === 'FROZEN' || st === 'FREEZING')) thaw(cg);
}

/**
 * Every process in the container's cgroups and the cgroups below them (a container may make its
 * own), sorted, each once (on v1 every hierarchy lists the same processes). runc's ps reads the
 * same: its cgroup manager's GetAllPids.
 */
export function cgroupPids(cgroupPaths: string[] | undefined): number[] {
  const pids = new Set<number>();
  const walk = (dir: string, depth: number): void => {
    let text: string;
    try {
      text = readFileSync(join(dir, 'cgroup.procs'), 'utf8');
    } catch {
      return; // gone meanwhile
    }
    for (const l of text.split('\n')) if (l) pids.add(Number(l));
    if (depth > 16) return;
    try {
      for (const e of readdirSync(dir, { withFileTypes: true }))
        if (e.isDirectory()) walk(join(dir, e.name), depth + 1);
    } catch {
      /* gone meanwhile */
    }
  };
  for (const d of cgroupPaths ?? []) walk(d, 0);
  return [...pids].sort((a, b) => a - b);
}
