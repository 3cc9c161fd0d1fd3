// The containers of a state root, newest first, and what `ps` says of each (src/cli/ps.ts prints them).
import { listEntries } from '../container-store/listing.js';
import type { Entry } from '../container-store/records.js';
import { effectiveStatus } from '../container-store/staleness.js';
import { humanDuration, statusText } from './common.js';
import { formatPorts, readNetworkRecord } from '../network/records.js';

const quoteCmd = (args: string[]): string => args.map((a) => (/\s/.test(a) || a === '' ? `'${a}'` : a)).join(' ');

export function psRows(entries: Entry[], now = Date.now()): Array<Record<string, unknown>> {
  return entries.map((e) => ({
    ID: e.id,
    Names: e.config?.name ?? '',
    Rootfs: e.config?.spec.rootfs ?? '',
    Command: quoteCmd(e.config?.spec.args ?? []),
    CreatedAt: e.config?.created ?? '',
    RunningFor: e.config?.created ? humanDuration(now - Date.parse(e.config.created)) : '',
    State: effectiveStatus(e),
    Status: statusText(e, now),
    Pid: effectiveStatus(e) === 'running' ? e.state?.pid : undefined,
    ExitCode: e.state?.exitCode,
    // published ports and the address while it runs (a stopped container's were released)
    ...(() => {
      const net = effectiveStatus(e) === 'running' ? readNetworkRecord(e.dir) : undefined;
      return {
        Ports: net ? formatPorts(net.ports) : '',
        Networks: net?.network ?? net?.mode ?? '',
        IPAddress: net?.ip ?? '',
      };
    })(),
  }));
}

/**
 * The containers `ps` shows, newest first: the running ones, or all of them. `unreadable` are those
 * whose state.json cannot be parsed (listed, with `all`, as "unknown"; never changed here).
 */
export function listContainers(root: string, all = false): { entries: Entry[]; unreadable: Entry[] } {
  const every = listEntries(root);
  const entries = every
    .filter((e) => all || effectiveStatus(e) === 'running')
    .sort((a, b) => (b.config?.created ?? '').localeCompare(a.config?.created ?? ''));
  return { entries, unreadable: every.filter((e) => e.stateError) };
}
