// The containers of a state root, newest first, and what `ps` says of each (src/cli/ps.ts prints them).
import { MinidockError } from '../../errors.js';
import { listEntries } from '../container-store/listing.js';
import type { Entry } from '../container-store/records.js';
import { effectiveStatus } from '../container-store/staleness.js';
import { humanDuration, statusText } from './common.js';
import { attachedNetworks, formatPorts, readNetworkRecord } from '../network/records.js';

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
      const on = attachedNetworks(net, e.state); // (with those of network connect)
      return {
        Ports: net ? formatPorts(net.ports) : '',
        Networks: on.length ? on.map((n) => n.network).join(',') : net?.mode === 'bridge' ? '' : (net?.mode ?? ''),
        IPAddress: on.map((n) => n.ip).join(','),
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
    // (a restarting one too, between two runs of its policy: Docker's ps lists it)
    .filter((e) => all || effectiveStatus(e) === 'running' || effectiveStatus(e) === 'restarting')
    .sort((a, b) => (b.config?.created ?? '').localeCompare(a.config?.created ?? ''));
  return { entries, unreadable: every.filter((e) => e.stateError) };
}

/** ps --filter KEY=VALUE: label=K or K=V, name=PART, status=STATE (Docker's keys; others refused). */
export interface PsFilter {
  labels: Array<{ key: string; value?: string }>;
  names: string[];
  statuses: string[];
}

const STATUSES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];

/** Parse the --filter flags; one line for a bad one (exit 125). */
export function parsePsFilters(raw: string[]): PsFilter {
  const f: PsFilter = { labels: [], names: [], statuses: [] };
  for (const r of raw) {
    const eq = r.indexOf('=');
    const key = eq < 0 ? r : r.slice(0, eq);
    const value = eq < 0 ? '' : r.slice(eq + 1);
    if (key === 'label' && value) {
      const e = value.indexOf('=');
      f.labels.push(e < 0 ? { key: value } : { key: value.slice(0, e), value: value.slice(e + 1) });
    } else if (key === 'name' && value) f.names.push(value);
    else if (key === 'status' && STATUSES.includes(value)) f.statuses.push(value);
    else if (key === 'status')
      throw new MinidockError(`--filter ${r}: the status must be one of ${STATUSES.join(', ')}`, 125);
    else
      throw new MinidockError(
        `--filter ${r}: use label=KEY, label=KEY=VALUE, name=NAME or status=STATE (minidock knows these three)`,
        125,
      );
  }
  return f;
}

/**
 * Does a container pass the filters, as Docker's ps decides: every label= given must match (its key
 * present; with =VALUE, that value), one of the name= (a part of its name) and one of the status=
 * (its state as ps shows it: `state`, paused included).
 */
export function matchesPsFilter(e: Entry, state: string, f: PsFilter): boolean {
  const labels = e.config?.spec.labels ?? {};
  if (!f.labels.every((l) => l.key in labels && (l.value === undefined || labels[l.key] === l.value))) return false;
  if (f.names.length && !f.names.some((n) => (e.config?.name ?? '').includes(n))) return false;
  return !f.statuses.length || f.statuses.includes(state);
}
