// The CLI's entry (bundled into dist/minidock.js). Verbs are registered in ./program.ts.
import { runCli } from './program.js';

process.exitCode = await runCli(process.argv.slice(2));
