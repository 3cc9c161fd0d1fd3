// bin/minidock.js saves each bundle's compiled code (V8's code cache) when a run exits, and later
// runs skip compiling what is in it. A cache holds what the run that made it compiled, so a run that
// takes a side path of a bundle says so here: its cache then does not stand in for the main path's
// (bin/minidock.js, "Which run makes a bundle's cache"). Without bin/minidock.js (tests run the
// sources) this does nothing.

/** This run takes a side path of `bundle`: 'verb' (the verb's own bundle, dist/verbs/VERB.cjs), a
 * group of dist/more/ ('network'), or '*' (every bundle this run loads). */
export function sidePath(bundle: string): void {
  (globalThis as { __mdSide?: Set<string> }).__mdSide?.add(bundle);
}
