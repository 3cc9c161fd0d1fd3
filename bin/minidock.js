#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node --min-semi-space-size=2 --
// The CLI entry point: loads the invoked verb's esbuild bundle of src/, dist/verbs/<verb>.cjs, or
// dist/minidock.cjs, which has every verb (`npm run build`).
//
// Every container launch pays Node's start-up, so this file is about start-up time:
// - The shebang drops NODE_EXTRA_CA_CERTS: minidock makes no TLS connections, and with it set Node
//   parses a CA bundle at every start (measured here: 90 ms instead of 30 ms).
// - --min-semi-space-size=2 (MiB): V8's young generation starts at 1 MiB per semi-space, and a
//   launch allocates more than that: one synchronous scavenge in a plain `run` and two with
//   --network bridge (`node --trace-gc`: 3-4 ms each here, most of it page faults on the pages the
//   survivors are copied to). Starting at 2 MiB, a launch ends before the first. Measured with
//   interleaved pairs against the same build without it: -2.0 ms for `run --rm ROOTFS echo ok`
//   (60 pairs), -2.3 ms with --network bridge (40 pairs); 4 MiB gained nothing. A V8 flag is part
//   of what a code cache must match, so the caches made under other flags (node --cpu-prof
//   bin/minidock.js, a test's `node bin/minidock.js`) are kept in files of their own (cacheFor).
// - The "--" ends Node's own options before this file's name: Node 20 otherwise scans the script's
//   arguments too for its own --env-file (nodejs/node#54232) and reads that file itself, so that
//   `run --env-file /dev/stdin` or `--env-file <(...)` found the pipe already drained, and a missing
//   file ended in "node: X: not found", exit 9.
// - It is CommonJS (bin/package.json), and it compiles the bundle through vm.Script with V8's code
//   cache: the compiled code of a bundle's first run is saved beside it (dist/verbs/run.cjs.cache)
//   and later runs skip parsing and compiling (measured: ~10 ms per start). The cache belongs to this
//   build and this Node: V8 rejects a cache made by another V8 or with other flags, or for a script
//   of another length, and it is rewritten. It does not compare the text itself: a build removes the
//   caches of the bundles it replaces (scripts/bundle.mjs).
'use strict';
globalThis.__mdT0 = process.hrtime.bigint(); // for --trace: when Node handed over to us
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
// (module.constructor is Node's Module class: require('node:module') would also load the ES module
// loader and source maps, ~0.4 ms)
const Module = module.constructor;

// Each verb has a bundle of its own, holding only what that verb can reach (scripts/bundle.mjs):
// `minidock run` reads and deserializes a third of the code that the whole CLI holds. Help, --version
// and unknown verbs use the bundle with every verb.
const verb = /^[a-z][a-z-]{0,20}$/.test(process.argv[2] ?? '') ? process.argv[2] : undefined;
const dist = path.join(__dirname, '..', 'dist');
let file;
let source;
for (const f of verb
  ? [path.join(dist, 'verbs', `${verb}.cjs`), path.join(dist, 'minidock.cjs')]
  : [path.join(dist, 'minidock.cjs')]) {
  try {
    source = fs.readFileSync(f, 'utf8');
    file = f;
    break;
  } catch {
    /* not a verb, or not built: the next one */
  }
}
if (source === undefined) {
  process.stderr.write(
    `minidock: ${path.join(dist, 'minidock.cjs')} is missing: run \`npm run build\` in ${path.dirname(__dirname)}\n`,
  );
  process.exit(125);
}
// The bundle's imports of ES-module-only packages (ink) go through here: import() works in this
// ordinary module, but not in a vm.Script loaded from a code cache on Node 20 (scripts/bundle.mjs).
globalThis.__mdIm = (specifier) => import(specifier);

// The shebang's own flags: with them, a bundle's cache is FILE.cache; with others (a V8 cache
// made under one set of V8 flags is rejected under another), FILE.<hash of the flags>.cache, so that
// two ways of starting minidock do not rewrite each other's cache at every start.
const OWN_FLAGS = ['--min-semi-space-size=2'];
globalThis.__mdOwnFlags =
  process.execArgv.length === OWN_FLAGS.length && OWN_FLAGS.every((f, i) => process.execArgv[i] === f);
const flagsTag = globalThis.__mdOwnFlags
  ? ''
  : `.${[...process.execArgv.join(' ')].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0, 0x811c9dc5).toString(16)}`;
/** The cache file of bundle `file` (`verb`: which verb's, for dist/more/'s shared files; `side`: the
 * cache a side path made, see load). */
const cacheFor = (file, verb, side) => `${file}${verb ? `.${verb}` : ''}${flagsTag}${side ? '.side' : ''}.cache`;

// Which run makes a bundle's cache. V8 saves the functions compiled so far, so a cache holds what
// the run that made it ran, and every later run compiles again what that run did not. When the first
// run after a build made the cache, a first `run --dry-run` left every later launch ~3 ms slower here
// (median of 150 paired launches: +3.1 ms), a first `run -d` +1.7 ms, and a first `--network host`
// run +1.3 ms on every bridge launch. So a run that takes a side path of a bundle says so
// (src/sys/code-cache.ts: globalThis.__mdSide holds 'verb', a group of dist/more/, or '*'): it makes
// FILE.side.cache, and only while the bundle has no cache at all. The main path's cache, FILE.cache,
// is read first, and the first run of the main path makes it (from a side cache, it adds its own
// functions to those).
globalThis.__mdSide = new Set();

/** Run a bundle (already wrapped in the CommonJS module function: scripts/bundle.mjs) compiled with
 * its code cache; returns its module. `key`: the bundle as __mdSide names it; `cacheFile(side)`: its
 * cache files. */
function load(file, source, key, cacheFile) {
  const main = cacheFile(false);
  const side = cacheFile(true);
  let cachedData;
  let from;
  for (const f of [main, side]) {
    try {
      cachedData = fs.readFileSync(f);
      from = f;
      break;
    } catch {
      /* not made yet */
    }
  }
  const script = new vm.Script(source, { filename: file, cachedData });
  const fresh = cachedData === undefined || script.cachedDataRejected;
  // Written at exit, so that the functions this run compiled are in it too, and only after a run that
  // did the verb's work (runMain sets __mdRanVerb): a cache made by `run --help` or by a failed launch
  // would lack the launch's functions. Atomically, and only where we may write (root's install); a
  // failure just means the next start compiles again.
  process.once('exit', () => {
    if (!globalThis.__mdRanVerb) return;
    const onSide = globalThis.__mdSide.has(key) || globalThis.__mdSide.has('*');
    const to = onSide ? (fresh ? side : undefined) : fresh || from !== main ? main : undefined;
    if (to === undefined) return;
    try {
      const tmp = `${to}.${process.pid}`;
      fs.writeFileSync(tmp, script.createCachedData());
      fs.renameSync(tmp, to);
      // the file read first goes when this one replaces it: a side cache, now that the main path
      // made its own, or a main cache V8 rejected (another Node), now that a side path made one
      if (from !== undefined && from !== to) fs.unlinkSync(from);
    } catch {
      /* read-only install */
    }
  });
  const mod = new Module(file, module);
  mod.filename = file;
  mod.paths = Module._nodeModulePaths(path.dirname(file));
  script.runInThisContext()(mod.exports, Module.createRequire(file), mod, file, path.dirname(file));
  return mod;
}

// The code only some launches run (the network, user namespaces, ...) is in dist/more/GROUP.cjs,
// read the first time one of its modules is imported: each bundle has a stub per module that calls
// this, with a table of the bundle's own instances of the modules dist/more/ shares
// (scripts/bundle.mjs).
const more = {};
globalThis.__mdMore = (group, key, registry) => {
  if (!more[group]) {
    globalThis.__mdShared = registry;
    // (a cache per verb: the functions `network ls` compiles are not those a bridge launch runs)
    const f = path.join(dist, 'more', `${group}.cjs`);
    const verb = path.basename(file, '.cjs');
    more[group] = load(f, fs.readFileSync(f, 'utf8'), group, (side) => cacheFor(f, verb, side)).exports;
  }
  return more[group][key]();
};

load(file, source, 'verb', (side) => cacheFor(file, undefined, side));
