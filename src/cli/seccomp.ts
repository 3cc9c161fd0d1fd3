// `minidock seccomp show|test` : the text is src/cli/format-seccomp.ts, the filter run on one call src/runtime/seccomp/try-syscall.ts.
import type { Command } from 'commander';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function register(program: Command): void {
  const sec = program
    .command('seccomp')
    .description('look inside the seccomp filter a container gets: its BPF program, and what it does to one syscall');

  sec
    .command('show')
    .description('print the compiled BPF program as a commented listing, and its size')
    .argument('[profile]', 'default | unconfined | PATH to a Docker-format JSON profile', 'default')
    .option('--cap-add <cap>', 'compile for a container with this capability too (repeatable)', collect, [])
    .option('--cap-drop <cap>', 'compile for a container without this capability (repeatable)', collect, [])
    .option('--raw', "also print each instruction's raw fields (code jt jf k)")
    .option('--color', 'colour even when stdout is not a terminal')
    .option('--no-color', 'never colour')
    .action(async (profile: string, flags: { capAdd: string[]; capDrop: string[]; raw?: boolean; color?: boolean }) => {
      const { showText, wantColor } = await import('./format-seccomp.js');
      process.stdout.write(showText(profile, { ...flags, color: wantColor(colorFlag(flags.color)) }));
    });

  sec
    .command('test')
    .description('run the filter on one syscall (in TypeScript, no kernel) and say what it returns, and why')
    .argument('<profile>', 'default | unconfined | PATH to a Docker-format JSON profile')
    .argument('<syscall>', 'a name (mount) or a number (165, 0xa5)')
    .argument('[args...]', 'up to 6 argument values, decimal or 0x-hex (e.g. clone 0x10000000)')
    .option('--cap-add <cap>', 'as if the container had this capability (repeatable)', collect, [])
    .option('--cap-drop <cap>', 'as if the container lacked this capability (repeatable)', collect, [])
    .option('--arch <abi>', 'the ABI the call is made through: x86_64, i386 (int $0x80) or x32', 'x86_64')
    .option('--json', 'one JSON object, for scripts')
    .option('--color', 'colour even when stdout is not a terminal')
    .option('--no-color', 'never colour')
    .action(
      async (
        profile: string,
        syscall: string,
        args: string[],
        flags: { capAdd: string[]; capDrop: string[]; arch?: string; json?: boolean; color?: boolean },
      ) => {
        const { testText, wantColor } = await import('./format-seccomp.js');
        process.stdout.write(testText(profile, syscall, args, { ...flags, color: wantColor(colorFlag(flags.color)) }));
      },
    );
}

/** commander sets `color: true` by default when --no-color exists: only an explicit flag counts. */
function colorFlag(v: boolean | undefined): boolean | undefined {
  const argv = process.argv;
  if (argv.includes('--no-color')) return false;
  if (argv.includes('--color')) return true;
  return v === false ? false : undefined;
}
