// Which seccomp program a container gets: the built-in default (Docker's, in effect), a Docker-format
// JSON profile (--security-opt seccomp=FILE.json), or none (seccomp=unconfined, --privileged).
// The profile is compiled for the container's final capability set, as Docker does: e.g. with
// --cap-add SYS_ADMIN the default profile also allows mount(2).
import { compileProfile } from './seccomp/compile.js';
import { DEFAULT_PROFILE } from './seccomp/default.js';
import { loadProfileFile } from './seccomp/profile.js';

export function compileSeccomp(choice: 'default' | 'unconfined' | { file: string }, caps: string[]): { program?: Uint8Array; name?: string } {
  if (choice === 'unconfined') return {};
  const profile = choice === 'default' ? DEFAULT_PROFILE : loadProfileFile(choice.file);
  return { program: compileProfile(profile, { caps }), name: choice === 'default' ? '(default profile)' : choice.file };
}
