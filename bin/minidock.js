#!/usr/bin/env node
// The CLI entry point. Kept tiny on purpose: every command pays Node's start-up, so main.js
// loads only the module of the verb being run.
import '../dist/cli/main.js';
