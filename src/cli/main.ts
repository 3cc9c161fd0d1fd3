// The CLI's entry, bundled into dist/minidock.cjs (scripts/bundle.mjs) and loaded by bin/minidock.js.
// Verbs are registered in ./program.ts.
import { runCli } from './program.js';

void runCli(process.argv.slice(2)).then((code) => {
  // Exit now rather than letting Node wind down on its own (measured: 10-15 ms of teardown after the
  // last line of work). Nothing is lost: on Linux, writes to stdout/stderr (files, pipes and
  // terminals) are synchronous, and every verb has finished its work when runCli() resolves.
  process.exit(code);
});
