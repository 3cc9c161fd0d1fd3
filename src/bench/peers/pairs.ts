// Engine × OCI runtime pairs (issue 16): Podman, Docker and containerd each driving runc, crun or
// minidock-oci, one series per pair named "<engine>+<runtime>" (podman+crun). The seed's "runc vs
// crun under Docker and Podman" as a matrix: the same engine with another runtime shows what the
// runtime costs; the same runtime under another engine, what the engine costs.
// A pair is a Peer for the startup experiment only (a foreground `run --rm`): the engine's image and
// daemon are the engine peer's (engines.ts), shared by the pairs of one engine and prepared once.
import { sh } from '../proc.js';
import { CtrPeer, DockerPeer, PODMAN_GLOBAL, PODMAN_RUN, PodmanPeer } from './engines.js';
import { makeOciRuntime, parseOciRuntimes, type OciRuntime, type OciRuntimeName } from './oci-runtimes.js';
import { unavailable, type BenchContext, type Detection, type Launch, type Peer, type Workload } from './types.js';

export const ENGINES = ['podman', 'docker', 'containerd'] as const;
export type EngineName = (typeof ENGINES)[number];
export type PairName = `${EngineName}+${OciRuntimeName}`;

/** "podman,docker,containerd" -> engine names (ctr = containerd); undefined or "all" -> all three. */
export function parseEngines(spec: string | undefined): EngineName[] {
  if (!spec || spec === 'all') return [...ENGINES];
  const out: EngineName[] = [];
  for (const raw of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const n = raw === 'ctr' ? 'containerd' : raw;
    if (!(ENGINES as readonly string[]).includes(n))
      throw new Error(`unknown engine "${raw}": choose from ${ENGINES.join(', ')}`);
    if (!out.includes(n as EngineName)) out.push(n as EngineName);
  }
  if (!out.length) throw new Error(`no engine in "${spec}": choose from ${ENGINES.join(', ')}`);
  return out;
}

/** Every (engine, runtime) pair, engine by engine: podman+runc, podman+crun, ..., containerd+minidock. */
export function expandPairs(engines: EngineName[], runtimes: OciRuntimeName[]): PairName[] {
  return engines.flatMap((e) => runtimes.map((r) => `${e}+${r}` as PairName));
}

/** `--engines` and `--oci-runtimes` as the pairs to measure; either alone means all of the other. */
export function pairsFromFlags(engines: string | undefined, ociRuntimes: string | undefined): PairName[] {
  if (engines === undefined && ociRuntimes === undefined) return [];
  return expandPairs(parseEngines(engines), parseOciRuntimes(ociRuntimes));
}

/** "docker+crun" -> its halves, or undefined when it is not a pair of known names. */
export function splitPair(name: string): { engine: EngineName; runtime: OciRuntimeName } | undefined {
  const [e, r, more] = name.split('+');
  if (more !== undefined || !e || !r) return undefined;
  try {
    return { engine: parseEngines(e)[0], runtime: parseOciRuntimes(r)[0] };
  } catch {
    return undefined;
  }
}

/** The name dockerd knows a runtime by: runc is built in; the others are registered when it starts. */
export function dockerRuntimeName(r: OciRuntimeName): string {
  return r;
}

/** The runtimes the bench registers with a dockerd it starts (daemon.json "runtimes"): name -> path. */
export function dockerRuntimes(ctx: BenchContext, runtimes: OciRuntimeName[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of runtimes) if (r !== 'runc') out[dockerRuntimeName(r)] = makeOciRuntime(r).binary(ctx);
  return out;
}

type EnginePeer = PodmanPeer | DockerPeer | CtrPeer;

/** One engine per bench run, shared by its pairs: detected once, its image imported once, removed once. */
interface SharedEngine {
  peer: EnginePeer;
  det?: Detection;
  prepared?: true | Error;
  users: number;
}
const shared = new WeakMap<BenchContext, Map<EngineName, SharedEngine>>();

function engineFor(ctx: BenchContext, e: EngineName): SharedEngine {
  let m = shared.get(ctx);
  if (!m) shared.set(ctx, (m = new Map()));
  let s = m.get(e);
  if (!s) {
    const peer = e === 'podman' ? new PodmanPeer() : e === 'docker' ? new DockerPeer() : new CtrPeer();
    m.set(e, (s = { peer, users: 0 }));
  }
  return s;
}

/** Podman's run flags with another runtime than runc (its path: conmon calls it as Podman's runtime). */
export function podmanRunFlags(binary: string): string[] {
  const f = [...PODMAN_RUN];
  f[f.indexOf('--runtime') + 1] = binary;
  return f;
}

export class EnginePairPeer implements Peer {
  readonly name: PairName;
  readonly kind = 'engine' as const;
  readonly runtime: OciRuntime;

  constructor(
    readonly engine: EngineName,
    runtime: OciRuntimeName,
    hybrid?: () => boolean,
  ) {
    this.name = `${engine}+${runtime}`;
    this.runtime = makeOciRuntime(runtime, hybrid);
  }

  detect(ctx: BenchContext): Detection {
    const s = engineFor(ctx, this.engine);
    s.det ??= s.peer.detect(ctx);
    if (!s.det.available)
      return unavailable(this.name, `${this.engine}: ${s.det.reason ?? 'not available'}`, s.det.fix ?? '');
    const rt = this.runtime.detect(ctx);
    if (!rt.available)
      return unavailable(this.name, `${this.runtime.name}: ${rt.reason ?? 'not available'}`, rt.fix ?? '');
    const why = this.engine === 'docker' ? this.dockerLacksRuntime(ctx) : undefined;
    if (why)
      return unavailable(
        this.name,
        why,
        'minidock bench startup --start-daemons ... (the bench registers crun and minidock with the dockerd it starts)',
      );
    return {
      peer: this.name,
      available: true,
      version: `${this.engine} ${s.det.version ?? '?'} + ${this.runtime.name} ${rt.version ?? '?'}`,
      notes: [`${this.engine} driving ${this.runtime.binary(ctx)} as its OCI runtime`, ...rt.notes],
      flags: this.run(ctx, 'ID', { cmd: ['CMD'] }).argv.slice(1),
      caps: {
        run: true,
        detached: false,
        exec: false,
        limits: { memory: false, cpus: false, pids: false },
        missing: ['an engine × runtime pair is measured by bench startup only'],
      },
    };
  }

  /** A dockerd the bench did not start knows only the runtimes it was started with. */
  private dockerLacksRuntime(ctx: BenchContext): string | undefined {
    if (this.runtime.name === 'runc') return undefined;
    const peer = engineFor(ctx, 'docker').peer as DockerPeer;
    const r = sh([peer.bin, '-H', `unix://${ctx.daemons.docker}`, 'info', '--format', '{{json .Runtimes}}'], {
      timeoutMs: 10_000,
    });
    let names: string[] = [];
    try {
      names = Object.keys(JSON.parse(r.stdout) as Record<string, unknown>);
    } catch {
      /* no JSON: no runtimes known */
    }
    const name = dockerRuntimeName(this.runtime.name);
    return names.includes(name)
      ? undefined
      : `dockerd at ${ctx.daemons.docker} has no runtime named "${name}" (it knows ${names.join(', ') || 'none'})`;
  }

  prepare(ctx: BenchContext): void {
    this.runtime.prepare(ctx);
    const s = engineFor(ctx, this.engine);
    s.users++;
    if (s.prepared === undefined) {
      try {
        s.peer.prepare(ctx);
        s.prepared = true;
      } catch (e) {
        s.prepared = e as Error;
      }
    }
    if (s.prepared instanceof Error) throw s.prepared;
  }

  /** `--rm`, and a name with the run's tag: what a run cut short leaves, the engine's cleanup finds by it */
  run(ctx: BenchContext, id: string, w: Workload): Launch {
    const bin = this.runtime.binary(ctx);
    const s = engineFor(ctx, this.engine);
    switch (this.engine) {
      case 'podman':
        return {
          argv: [
            (s.peer as PodmanPeer).bin,
            ...PODMAN_GLOBAL,
            'run',
            '--rm',
            '--name',
            id,
            ...podmanRunFlags(bin),
            `localhost/${ctx.image}`,
            ...w.cmd,
          ],
        };
      case 'docker':
        return {
          argv: [
            (s.peer as DockerPeer).bin,
            '-H',
            `unix://${ctx.daemons.docker ?? '/var/run/docker.sock'}`,
            'run',
            '--rm',
            '--name',
            id,
            '--network',
            'none',
            '--runtime',
            dockerRuntimeName(this.runtime.name),
            ctx.image,
            ...w.cmd,
          ],
        };
      case 'containerd':
        // the runc v2 shim runs `bin` as its runc, its state (--runc-root) in the bench's scratch directory
        return {
          argv: [
            'ctr',
            '-a',
            ctx.daemons.containerd ?? '/run/containerd/containerd.sock',
            '-n',
            ctx.tag,
            'run',
            '--rm',
            '--runc-binary',
            bin,
            '--runc-root',
            `${ctx.work}/ctr-runc-root`,
            (s.peer as CtrPeer).ctrImage(ctx),
            id,
            ...w.cmd,
          ],
        };
    }
  }

  cleanup(ctx: BenchContext): void {
    this.runtime.cleanup(ctx);
    const s = engineFor(ctx, this.engine);
    if (--s.users === 0 && s.prepared === true) s.peer.cleanup(ctx);
  }
}
