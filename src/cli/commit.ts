// `minidock commit CONTAINER [REPO[:TAG]]`: a container's writes (its overlay's upper layer) as a
// new image on top of the one it ran; commitContainer() in src/image/commit.ts. A running container
// is paused (its cgroup frozen) while its upper layer is read, as Docker does by default.
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('commit')
    .description("create a new image from a container's changes (its upper layer on top of its image or rootfs)")
    .argument('<container>', 'container ID (or unique prefix) or name')
    .argument('[repository]', 'REPOSITORY[:TAG] for the new image (default tag: latest)')
    .helpOption('--help', 'display help for commit')
    .option('-m, --message <text>', "commit message (the history entry's comment)")
    .option('-a, --author <name>', 'author (e.g. "Ana <ana@example.com>")')
    .option(
      '-c, --change <instruction>',
      "a Dockerfile LABEL for the new image (e.g. 'LABEL version=1.0'; repeatable; LABEL only)",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option('--no-pause', 'do not pause a running container while its changes are read')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (ref: string, repo: string | undefined, flags: Record<string, unknown>) => {
      process.exitCode = await commit(ref, repo, flags);
    });
}

async function commit(
  ref: string,
  repo: string | undefined,
  flags: { root?: string; message?: string; author?: string; pause?: boolean; change?: string[] },
): Promise<number> {
  const [
    { fail },
    { writeOut },
    { resolve, displayName },
    { rootOf, isRunning },
    { isPaused, pauseContainer, unpauseContainer },
    { commitContainer, parseChanges },
  ] = await Promise.all([
    import('../errors.js'),
    import('../sys/output.js'),
    import('../runtime/container-store/listing.js'),
    import('../runtime/lifecycle/common.js'),
    import('../runtime/lifecycle/pause.js'),
    import('../image/commit.js'),
  ]);
  const labels = parseChanges(flags.change ?? []); // (bad input: one line before anything is read or paused)
  if (process.getuid?.() !== 0)
    fail('commit needs root: the new layer keeps file owners, device nodes and whiteouts, which only root can create');
  const root = rootOf(flags);
  const e = resolve(root, ref);
  const spec = e.config?.spec;
  if (!spec) fail(`commit ${ref}: the container has no readable config.json, so its layers are unknown`);
  // freeze it so the upper layer does not change under the reader (unless already paused: then it stays so)
  const pause = flags.pause !== false && isRunning(e) && !isPaused(e);
  if (pause) pauseContainer(e);
  try {
    const img = await commitContainer(
      root,
      { name: displayName(e), dir: e.dir, spec: spec! },
      { ref: repo, message: flags.message, author: flags.author, labels },
    );
    writeOut(`${img.id}\n`);
  } finally {
    if (pause) unpauseContainer(e);
  }
  return 0;
}
