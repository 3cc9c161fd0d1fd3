// Which seccomp program a container gets: the built-in default (Docker's, in effect), a Docker-format
// JSON profile (--security-opt seccomp=FILE.json), or none (seccomp=unconfined, --privileged).
// The profile is compiled for the container's final capability set, as Docker does: e.g. with
// --cap-add SYS_ADMIN the default profile also allows mount(2).
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../sys/native.js';
import { compileProfile } from './seccomp/compile.js';
import { DEFAULT_PROFILE } from './seccomp/default.js';
import { loadProfileFile, type SeccompProfile } from './seccomp/profile.js';

/** FNV-1a, 32 bit: a cache key, not a security boundary (the cache is root's own directory). */
function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

// Compiling Docker's ~400-rule profile takes a few ms of every launch. When running from the
// bundle, compiled programs are kept in dist/cache/: dist/ is rebuilt whenever src/ changes, so a
// cached program can never be older than the compiler that made it.
// The program depends on the profile, the capabilities and the kernel (includes.minKernel). The
// built-in profile is named by `default` (it is part of this build, as dist/cache is); a profile from
// a file by a hash of its contents (hashing the default's ~20 kB at every launch cost ~1 ms).
function cached(profile: SeccompProfile, caps: string[], profileKey?: string): Uint8Array {
  if (!import.meta.url.includes('/dist/')) return compileProfile(profile, { caps });
  const dir = join(packageRoot(), 'dist', 'cache');
  const key = profileKey ?? fnv1a(JSON.stringify(profile, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
  const file = join(dir, `seccomp-${key}-${fnv1a(caps.join(',') + '|' + release())}.bpf`);
  try {
    return new Uint8Array(readFileSync(file));
  } catch {
    const prog = compileProfile(profile, { caps });
    try {
      mkdirSync(dir, { recursive: true });
      writeFileSync(`${file}.${process.pid}`, prog);
      renameSync(`${file}.${process.pid}`, file); // atomic: parallel launches never read half a file
    } catch { /* a read-only install: compile every time */ }
    return prog;
  }
}

export function compileSeccomp(choice: 'default' | 'unconfined' | { file: string }, caps: string[]): { program?: Uint8Array; name?: string } {
  if (choice === 'unconfined') return {};
  const profile = choice === 'default' ? DEFAULT_PROFILE : loadProfileFile(choice.file);
  return { program: cached(profile, caps, choice === 'default' ? 'default' : undefined), name: choice === 'default' ? '(default profile)' : choice.file };
}
