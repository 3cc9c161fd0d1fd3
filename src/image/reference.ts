// Image references as Docker parses them (distribution/reference), for `tag` and `commit`:
//   [HOST[:PORT]/]PATH[:TAG]   PATH: lowercase components a-z 0-9 joined by ".", "_", "__" or "-"s,
//                              separated by "/"; TAG: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}; no TAG: latest.
// The first component is a registry host when it holds "." or ":" or is "localhost". Pure.
import { fail } from '../errors.js';

export interface Reference {
  repository: string;
  tag: string;
  /** "repository:tag", the form the image store keeps */
  name: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]+)?$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** Parse REPOSITORY[:TAG]; one line naming what is wrong otherwise (`what`: "tag", "commit"). */
export function parseReference(raw: string, what: string): Reference {
  const bad = (why: string): never =>
    fail(`${what}: "${raw}" is not a valid image name: ${why} — use [HOST[:PORT]/]NAME[:TAG], e.g. myapp:1.0`);
  if (!raw) return bad('it is empty');
  if (raw.includes('@')) return bad('a digest (@sha256:…) cannot be given as a name');
  const slash = raw.lastIndexOf('/');
  const colon = raw.lastIndexOf(':');
  const hasTag = colon > slash;
  const repository = hasTag ? raw.slice(0, colon) : raw;
  const tag = hasTag ? raw.slice(colon + 1) : 'latest';
  if (!TAG.test(tag))
    return bad(`the tag "${tag}" must be 1-128 letters, digits, "_", "." or "-", not starting with "." or "-"`);
  const parts = repository.split('/');
  const first = parts[0];
  const host = parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (host && !HOST.test(first)) return bad(`"${first}" is not a registry host[:port]`);
  for (const part of host ? parts.slice(1) : parts) {
    if (!part) return bad('an empty path component (a leading, trailing or double "/")');
    if (!COMPONENT.test(part))
      return bad(
        /[A-Z]/.test(part)
          ? `"${part}": repository names must be lowercase`
          : `"${part}": use lowercase letters and digits, joined by ".", "_" or "-"`,
      );
  }
  if (repository.length > 255) return bad(`the repository name is ${repository.length} characters (at most 255)`);
  return { repository, tag, name: `${repository}:${tag}` };
}

/** "repo:tag" -> ["repo", "tag"] (a ":" in a registry's port is not a tag). */
export function splitName(name: string): [string, string] {
  const i = name.lastIndexOf(':');
  return i > name.lastIndexOf('/') ? [name.slice(0, i), name.slice(i + 1)] : [name, 'latest'];
}
