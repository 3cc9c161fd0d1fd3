// `minidock oci [GLOBAL FLAGS] VERB ...`: the OCI runtime command line (runc's), which engines
// (containerd's runc shim, Podman's conmon, dockerd --add-runtime) drive. bin/minidock-oci.js is the
// same verb as a binary of its own, the path engines are given. docs/oci.md explains the design:
// the Docker-style verbs keep their names and meaning; the runc-style ones live here.
// Commander only hands the arguments over: runc's flags (global ones before the verb) and runc's
// error format are not commander's, so src/cli/oci-main.ts parses and prints them itself.
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('oci')
    .description('the OCI runtime command line, as runc (state, list, kill, delete, spec, features; see docs/oci.md)')
    .argument('[args...]', 'runc-style global flags, then a verb and its arguments')
    .helpOption(false)
    .allowUnknownOption()
    .passThroughOptions()
    .action(async (args: string[]) => {
      const { ociMain } = await import('./oci-main.js');
      process.exitCode = await ociMain(args);
    });
}
