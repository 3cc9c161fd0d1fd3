// The network mode every runtime of `bench startup` launches in (--network none|bridge): one mode for
// all, so that no runtime's figure carries a bridge the others do not pay for. Podman's bridge alone
// costs it ~160 ms a launch on this machine (274-285 ms against 116-125 ms with --network none).
// Pure where it can be: a launch's argv is rewritten here and tested in test/unit/bench-netmode.test.ts.
import { sh } from '../proc.js';
import { dockerClient } from '../peers/engines.js';
import { splitPair } from '../peers/pairs.js';
import type { BenchContext, Launch, Peer } from '../peers/types.js';

export const NET_MODES = ['none', 'bridge'] as const;
export type NetMode = (typeof NET_MODES)[number];

/**
 * `--network` of bench startup: none (the default: only lo, as before), bridge, or both (`none,bridge`:
 * every runtime in each mode, interleaved within each repetition, the bridge rows named `X (bridge)`).
 */
export function parseNetModes(v: string | undefined): NetMode[] {
  if (v === undefined) return ['none'];
  const modes = v.split(',').map((m) => m.trim());
  const bad = modes.find((m) => !(NET_MODES as readonly string[]).includes(m));
  if (bad !== undefined || !modes.length)
    throw new Error(
      `--network ${v}: expected none, bridge or none,bridge (every runtime is launched in that mode, or in both)`,
    );
  return NET_MODES.filter((m) => modes.includes(m));
}

/** A run's name in the results: the runtime's, with ` (bridge)` when both modes are measured. */
export function modeName(runtime: string, mode: NetMode, modes: NetMode[]): string {
  return modes.length > 1 && mode === 'bridge' ? `${runtime} (bridge)` : runtime;
}

/**
 * Each runtime measured in both modes: its two medians, their difference, and the median of the
 * paired differences (repetition by repetition: the two launches ran back to back, so drift in the
 * host's load hits both; on a busy host this is the steadier figure). The goal: minidock's
 * bridge launch ≤ 5 ms over --network none.
 */
export function bridgeCost(
  summary: Array<Record<string, unknown>>,
  rows: Array<Record<string, unknown>> = [],
): {
  columns: string[];
  rows: Array<Record<string, number | string | undefined>>;
} {
  const med = (rt: string): number | undefined => {
    const v = summary.find((r) => r.runtime === rt)?.median_ms;
    return typeof v === 'number' ? v : undefined;
  };
  const time = (rt: string, rep: unknown): number | undefined => {
    const v = rows.find((r) => r.runtime === rt && r.rep === rep && r.ok === true)?.startup_ms;
    return typeof v === 'number' ? v : undefined;
  };
  const out = summary
    .map((r) => String(r.runtime))
    .filter((rt) => !rt.endsWith(' (bridge)') && med(`${rt} (bridge)`) !== undefined)
    .map((rt) => {
      const none = med(rt) as number;
      const bridge = med(`${rt} (bridge)`) as number;
      const diffs = rows
        .filter((r) => r.runtime === rt)
        .flatMap((r) => {
          const [a, b] = [time(rt, r.rep), time(`${rt} (bridge)`, r.rep)];
          return a !== undefined && b !== undefined ? [b - a] : [];
        })
        .sort((x, y) => x - y);
      const mid = diffs.length / 2;
      const paired = diffs.length
        ? diffs.length % 2
          ? diffs[Math.floor(mid)]
          : (diffs[mid - 1] + diffs[mid]) / 2
        : undefined;
      return {
        runtime: rt,
        none_ms: none,
        bridge_ms: bridge,
        bridge_minus_none_ms: bridge - none,
        paired_median_ms: paired,
        pairs: diffs.length,
      };
    });
  return {
    columns: ['runtime', 'none_ms', 'bridge_ms', 'bridge_minus_none_ms', 'paired_median_ms', 'pairs'],
    rows: out,
  };
}

/**
 * Why runtime `name` (of kind `kind`) cannot be launched in `mode`, or undefined when it can. A bare
 * process has no network namespace of its own: it stays the baseline in either mode.
 */
export function bridgeUnavailable(name: string, kind: Peer['kind'], mode: NetMode): string | undefined {
  if (mode === 'none') return undefined;
  if (kind === 'baseline') return undefined;
  if (name === 'minidock-rootless')
    return 'no bridge rootless: the bridge, the veth pair and the NAT rules need CAP_NET_ADMIN on the host';
  if (name === 'runc' || name === 'crun')
    return `${name} has no bridge: an OCI runtime only makes the empty network namespace (a bridge is an engine's or a CNI plugin's work)`;
  if (name === 'ctr' || splitPair(name)?.engine === 'containerd')
    return 'ctr run has no bridge: containerd leaves networking to CNI plugins (Kubernetes), ctr gives an empty namespace or --net-host';
  return undefined;
}

/** Replace the value after `--network` (none -> `mode`); undefined when the argv has no `--network`. */
export function swapNetwork(argv: string[], mode: NetMode): string[] | undefined {
  const i = argv.indexOf('--network');
  if (i < 0 || i + 1 >= argv.length) return undefined;
  const out = [...argv];
  out[i + 1] = mode;
  return out;
}

/** `--network MODE` right after minidock's `run` (minidock run's own default may change: say it). */
export function minidockNetwork(argv: string[], mode: NetMode): string[] | undefined {
  const i = argv.indexOf('run');
  if (i < 0) return undefined;
  return [...argv.slice(0, i + 1), '--network', mode, ...argv.slice(i + 1)];
}

/**
 * The launch in `mode`: minidock gets `--network MODE` (when its build has the flag: `hasFlag`),
 * Podman and Docker their `--network none` swapped for `--network bridge` (their default bridge:
 * Podman's `podman` network through netavark, Docker's docker0). Others are unchanged (none is all
 * they do). A string: why it cannot be done.
 */
export function networkLaunch(
  peer: Pick<Peer, 'kind'> & { name: string },
  l: Launch,
  mode: NetMode,
  hasFlag = true,
): Launch | string {
  const why = bridgeUnavailable(peer.name, peer.kind, mode);
  if (why) return why;
  if (peer.kind === 'minidock') {
    if (!hasFlag) return mode === 'none' ? l : 'this minidock build has no --network flag';
    const argv = minidockNetwork(l.argv, mode);
    return argv ? { ...l, argv } : mode === 'none' ? l : 'no `run` in its command line to add --network to';
  }
  if (peer.kind === 'engine') {
    if (mode === 'none') return l;
    const argv = swapNetwork(l.argv, mode);
    return argv ? { ...l, argv } : 'no --network in its command line to set to bridge';
  }
  return l;
}

/**
 * Docker in bridge mode needs a daemon with its default `bridge` network (docker0). The bench's own
 * dockerd (--start-daemons) has one since issue 17 (no firewall rule: --iptables=false, ports through
 * docker-proxy); a dockerd someone started with --bridge=none has not. Undefined when `docker network
 * inspect bridge` answers.
 */
export function dockerBridgeMissing(ctx: BenchContext): string | undefined {
  const bin = dockerClient();
  if (!bin || !ctx.daemons.docker) return undefined; // (the peer is skipped already)
  const r = sh([bin, '-H', `unix://${ctx.daemons.docker}`, 'network', 'inspect', 'bridge'], { timeoutMs: 10_000 });
  if (r.code === 0) return undefined;
  return `dockerd at ${ctx.daemons.docker} has no bridge network (it was started with --bridge=none: start it without, or let the bench start its own with --start-daemons)`;
}

const flagCache = new Map<string, boolean>();
/** Does the minidock at `bin` know `run --network`? (a build before networking does not) */
export function minidockHasNetwork(bin: string): boolean {
  let has = flagCache.get(bin);
  if (has === undefined) {
    has = /--network\b/.test(sh([bin, 'run', '--help']).stdout);
    flagCache.set(bin, has);
  }
  return has;
}
