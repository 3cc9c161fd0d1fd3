// Which seccomp program a container gets: the built-in default (Docker's, in effect), a Docker-format
// JSON profile (--security-opt seccomp=FILE.json), or none (seccomp=unconfined, --privileged).
// The profile is compiled for the container's final capability set, as Docker does: e.g. with
// --cap-add SYS_ADMIN the default profile also allows mount(2).
//
// Compiling Docker's ~400-rule profile takes a few ms of every launch. When running from the
// bundle, compiled programs are kept in dist/cache/: dist/ is rebuilt whenever src/ changes, so a
// cached program can never be older than the compiler that made it. The compiler, the profile and
// the syscall table are imported only on a miss: a launch that finds its program in the cache
// never loads them (~0.5 ms, and 100 kB of garbage, less).
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../sys/native.js';
import type { SecurityChoice } from './flag-parsers.js';
import type { SeccompProfile } from './seccomp/profile.js';

type SeccompChoice = SecurityChoice['seccomp'];
export interface SeccompProgram {
  program?: Uint8Array;
  name?: string;
}

const DEFAULT_NAME = '(default profile)';

/** FNV-1a, 32 bit: a cache key, not a security boundary (the cache is root's own directory). */
function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

// The program depends on the profile, the capabilities and the kernel (includes.minKernel). The
// built-in profile is named by `default` (it is part of this build, as dist/cache is); a profile from
// a file by a hash of its contents.
function cacheFile(profileKey: string, caps: string[]): string | undefined {
  // tests run the sources: always compile (a bundle lies in dist/ or dist/verbs/)
  if (!/\/dist(\/|$)/.test(import.meta.dirname ?? import.meta.url)) return undefined;
  // the kernel's release from /proc (what os.release() returns, without loading node:os)
  const release = readFileSync('/proc/sys/kernel/osrelease', 'latin1').trim();
  return join(packageRoot(), 'dist', 'cache', `seccomp-${profileKey}-${fnv1a(caps.join(',') + '|' + release)}.bpf`);
}

/** The program, when no compiler is needed: unconfined, or the default profile found in the cache. */
export function cachedSeccomp(choice: SeccompChoice, caps: string[]): SeccompProgram | undefined {
  if (choice === 'unconfined') return {};
  if (choice !== 'default') return undefined; // a file: its key is a hash of what it holds
  const file = cacheFile('default', caps);
  if (!file) return undefined;
  try {
    return { program: new Uint8Array(readFileSync(file)), name: DEFAULT_NAME };
  } catch {
    return undefined;
  }
}

/** Compile the chosen profile for these capabilities (and keep the program in the cache). */
export async function compileSeccomp(choice: SeccompChoice, caps: string[]): Promise<SeccompProgram> {
  if (choice === 'unconfined') return {};
  const [{ compileProfile }, { DEFAULT_PROFILE }, { loadProfileFile }] = await Promise.all([
    import('./seccomp/compile.js'),
    import('./seccomp/default.js'),
    import('./seccomp/profile.js'),
  ]);
  const profile: SeccompProfile = choice === 'default' ? DEFAULT_PROFILE : loadProfileFile(choice.file);
  const key =
    choice === 'default'
      ? 'default'
      : fnv1a(JSON.stringify(profile, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
  const file = cacheFile(key, caps);
  if (file) {
    try {
      return { program: new Uint8Array(readFileSync(file)), name: choice === 'default' ? DEFAULT_NAME : choice.file };
    } catch {
      /* not compiled yet */
    }
  }
  const program = compileProfile(profile, { caps });
  if (file) {
    try {
      mkdirSync(join(file, '..'), { recursive: true });
      writeFileSync(`${file}.${process.pid}`, program);
      renameSync(`${file}.${process.pid}`, file); // atomic: parallel launches never read half a file
    } catch {
      /* a read-only install: compile every time */
    }
  }
  return { program, name: choice === 'default' ? DEFAULT_NAME : choice.file };
}
