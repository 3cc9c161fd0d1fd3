// What `minidock run` needs before a launch: the container's spec from its flags (a rootfs or an
// image, the seccomp program for the final capabilities), the plan --dry-run shows, and the
// --privileged warning. src/cli/run.ts drives the launch and prints.
import { existsSync } from 'node:fs';
import { fail } from '../errors.js';
import { planLaunch, type LaunchPlan } from './build-plan.js';
import { containerCgroup, layerDirs } from './launch.js';
import type { SecurityChoice } from './flag-parsers.js';
import { specFromFlags, type RunFlags } from './options.js';
import type { ContainerSpec } from './spec.js';
import { containerDir } from './state-root.js';
import { cachedSeccomp, compileSeccomp } from './seccomp-choice.js';
import { CAPS } from './capabilities.js';

export interface RunSpecFlags extends RunFlags {
  entrypoint?: string;
}

/**
 * The spec of container `id` in state root `root`. ROOTFS or IMAGE[:TAG]: a path (contains "/" or
 * exists) is a rootfs directory; anything else an image of the store, whose config supplies the
 * command, env, workdir and user (src/image/).
 */
export async function runSpec(
  id: string,
  root: string,
  rootfs: string,
  command: string[],
  flags: RunSpecFlags,
): Promise<ContainerSpec> {
  let image: import('../image/run-image.js').ImageForRun | undefined;
  let runFlags: RunSpecFlags = flags;
  if (!rootfs.includes('/') || !existsSync(rootfs)) {
    const img = await import('../image/run-image.js');
    if (img.looksLikeImage(root, rootfs)) {
      image = img.imageForRun(root, rootfs, command, {
        entrypoint: flags.entrypoint,
        workdir: flags.workdir,
        user: flags.user,
      });
      runFlags = { ...flags, workdir: image.workdir, user: image.user };
    }
  }
  if (!image && flags.entrypoint !== undefined)
    fail('--entrypoint needs an image: with a rootfs directory, give the command itself');
  // The seccomp program is compiled for the final capability set, which specFromFlags works out;
  // usually it is in the cache, and the compiler is loaded only when it is not (seccomp-choice.ts).
  let toCompile: [SecurityChoice['seccomp'], string[]] | undefined;
  const spec = await specFromFlags(
    id,
    rootfs,
    image ? image.args : command,
    runFlags,
    (choice, caps) => cachedSeccomp(choice, caps) ?? ((toCompile = [choice, caps]), {}),
    image && { ...image, healthcheck: await imageHealthcheck(root, image) },
  );
  // the image's LABELs under the container's own --label (Docker's rule: the container's win);
  // config.json keeps the merged set, so ps --filter label= and inspect see the image's too
  if (image && Object.keys(image.labels).length) spec.labels = { ...image.labels, ...spec.labels };
  if (toCompile) {
    const { program, name } = await compileSeccomp(...toCompile);
    Object.assign(spec, { seccomp: program, seccompProfileName: name });
  }
  return spec;
}

/** The image's HEALTHCHECK: kept only in its config's exact bytes (raw-config.ts), not in the record. */
async function imageHealthcheck(root: string, image: import('../image/run-image.js').ImageForRun): Promise<unknown> {
  const { rawConfig } = await import('../image/raw-config.js');
  return (rawConfig(root, image.image).json.config as { Healthcheck?: unknown } | undefined)?.Healthcheck;
}

/** One visible line for --privileged, which turns off every protection docs/security.md describes. */
export function privilegedWarning(spec: ContainerSpec): string | undefined {
  if (!spec.privileged) return undefined;
  const lacking = CAPS.filter((c) => !spec.capabilities.includes(c));
  const caps = lacking.length
    ? `all capabilities minidock holds (${spec.capabilities.length}; not ${lacking.join(', ')})`
    : `all ${spec.capabilities.length} capabilities`;
  return `--privileged: ${caps}, no seccomp, no masked paths, read-write /sys and every host device: this container can take over the host`;
}

/**
 * The plan of a launch, decided by the launch's own code (a dry createCgroup, planLaunch): nothing
 * is created or written, and it needs neither root nor the native library (which of fds 0-2 are
 * terminals comes from node:tty here; a launch asks libminidock, which is cheaper).
 */
export async function dryRunPlan(spec: ContainerSpec, root: string): Promise<LaunchPlan> {
  const dir = containerDir(root, spec.id);
  const { isatty } = await import('node:tty');
  const terminals = [0, 1, 2].reduce((bits, fd) => bits | (isatty(fd) ? 1 << fd : 0), 0);
  // the network as a launch would set it up (the next free address, without taking it)
  const { prepareNetwork } = await import('./network/wiring.js');
  const net = prepareNetwork(spec.network, { root, id: spec.id, dir, hostname: spec.hostname, dryRun: true });
  // --ipc/--pid container:NAME: that container's namespaces by /proc/PID path (a launch holds them open)
  const joined =
    spec.namespaces?.ipc || spec.namespaces?.pid
      ? (await import('./namespaces.js')).resolveJoins(spec, root, true)
      : undefined;
  const planned = joined ? { ...spec, joinNamespaces: joined.joinNamespaces, shmFrom: joined.shmFrom } : spec;
  return planLaunch(planned, layerDirs(root, dir, true).dirs, containerCgroup(spec, true), terminals, undefined, net);
}
