#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node
// The CLI entry point.
// The shebang drops NODE_EXTRA_CA_CERTS: minidock makes no TLS connections, and with it set Node
// parses a CA bundle at every start (measured here: 90 ms instead of 30 ms).
// dist/minidock.js is the esbuild bundle of src/cli/main.ts (npm run build): each verb's work is a
// separate chunk, loaded only when that verb runs.
import '../dist/minidock.js';
