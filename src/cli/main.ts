// The CLI's entry with every verb, bundled into dist/minidock.cjs (scripts/bundle.mjs) and loaded by
// bin/minidock.js for help, --version and unknown verbs; each verb also has a bundle of its own.
import { runMain } from './program.js';
import { VERBS } from './verbs.js';

runMain(VERBS);
