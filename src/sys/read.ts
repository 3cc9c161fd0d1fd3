// Reading a kernel or state file that may be absent: /proc, /sys and cgroup files come and go with
// the kernel's configuration and with the processes they describe.
import { readFileSync } from 'node:fs';

/** The whole file as text; undefined when it does not exist or cannot be read (the caller knows what that means). */
export function readOpt(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
