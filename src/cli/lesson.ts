// `minidock lesson list | N | check N` — the flags; the bodies are in ./lesson-commands.ts (loaded on use).
import type { Command } from 'commander';

export function register(program: Command): void {
  const lesson = program
    .command('lesson')
    .description('executable lessons (English and Spanish): list them, walk through one, check your exercise answers')
    .argument('[n]', 'the lesson number (see `minidock lesson list`)')
    .option('--lang <lang>', 'en or es (default: from $LANG)')
    .option('--plain', 'print the walkthrough as text for copy-paste, without the viewer')
    .option('--run', 'run every step in order and report, without the viewer')
    .option('--slow', 'also run the steps marked slow (minutes)')
    .action(async (n: string | undefined, flags: Record<string, unknown>, cmd: Command) => {
      if (n === undefined) {
        cmd.outputHelp();
        return;
      }
      const { showCommand } = await import('./lesson-commands.js');
      process.exitCode = await showCommand(n, flags);
    });
  lesson
    .command('list')
    .description('the lessons, with their steps, exercises and languages')
    .option('--lang <lang>', 'en or es (default: from $LANG)')
    .action(async (flags: { lang?: string }) => {
      const { listCommand } = await import('./lesson-commands.js');
      process.exitCode = listCommand(flags);
    });
  lesson
    .command('check')
    .description("check your answers to a lesson's exercises: minidock lesson check N id=answer ...")
    .argument('<n>', 'the lesson number')
    .argument('[answers...]', 'answers as id=value (the lesson names the ids)')
    .option('--answers <file>', 'read id=value lines from a file')
    .option('--lang <lang>', 'en or es (default: from $LANG)')
    .action(async (n: string, answers: string[], flags: { lang?: string; answers?: string }) => {
      const { checkCommand } = await import('./lesson-commands.js');
      process.exitCode = checkCommand(n, answers, flags);
    });
}
