// What minidock inspect shows of one container: everything the store knows, in Docker's shape (in part).
import type { Entry } from '../container-store/records.js';
import { deadReason, effectiveStatus } from '../container-store/staleness.js';
import { isRunning } from './common.js';
import { attachedNetworks, readNetworkRecord } from '../network/records.js';
import { signalName } from '../flag-parsers.js';

export function describe(e: Entry): Record<string, unknown> {
  const c = e.config;
  const s = e.state;
  const spec = c?.spec;
  const status = effectiveStatus(e);
  return {
    Id: e.id,
    Name: c?.name ? `/${c.name}` : '',
    Created: c?.created,
    Path: spec?.args[0],
    Args: spec?.args.slice(1),
    State: {
      Status: status,
      Running: isRunning(e),
      Dead: status === 'dead',
      Restarting: status === 'restarting',
      OOMKilled: !!s?.oomKilled,
      OOMKills: s?.oomKills ?? 0,
      Pid: status === 'running' ? (s?.pid ?? 0) : 0,
      MonitorPid: status === 'running' ? (s?.monitorPid ?? 0) : 0,
      ExitCode: s?.exitCode ?? (status === 'dead' ? -1 : 0), // dead: nobody saw the exit
      Signal: s?.signal,
      Error: status === 'dead' ? deadReason(e) : (e.stateError ?? s?.error ?? ''),
      StartedAt: s?.startedAt ?? '',
      FinishedAt: s?.finishedAt ?? '',
    },
    RestartCount: s?.restartCount ?? 0,
    Rootfs: spec?.rootfs,
    LogPath: c?.logPath ?? '',
    Dir: e.dir,
    Detached: !!c?.detached,
    AutoRemove: !!c?.autoRemove,
    Config: spec && {
      Hostname: spec.hostname,
      User: `${spec.uid}:${spec.gid}`,
      Env: spec.env,
      Cmd: spec.args,
      WorkingDir: spec.cwd,
      Tty: spec.tty,
      // (-i: the container's stdin is kept open, for run -d -i by its monitor, for attach)
      OpenStdin: spec.interactive,
      ReadonlyRootfs: spec.readonlyRootfs,
      StopTimeout: spec.stopTimeoutSec,
      // (--label, --label-file; --stop-signal by name, Docker's default SIGTERM when not given)
      Labels: spec.labels ?? {},
      StopSignal: signalName(spec.stopSignal ?? 15),
    },
    HostConfig: spec && {
      Privileged: spec.privileged,
      CapAdd: undefined,
      Capabilities: spec.capabilities,
      NoNewPrivileges: spec.noNewPrivileges,
      Seccomp: spec.seccompB64 ? (spec.seccompProfileName ?? 'custom') : 'unconfined',
      // (a named volume by its name, as Docker lists it)
      Binds: spec.mounts.map((m) => `${m.volume ?? m.source}:${m.destination}${m.readonly ? ':ro' : ''}`),
      // --tmpfs/--mount type=tmpfs (tmpfs's options), --device, --sysctl, --init, --cgroupns
      Tmpfs: Object.fromEntries((spec.tmpfs ?? []).map((t) => [t.destination, t.data])),
      Devices: (spec.devices ?? []).map((d) => ({
        PathOnHost: d.hostPath,
        PathInContainer: d.path,
        CgroupPermissions: d.access,
      })),
      Sysctls: spec.sysctls ?? {},
      Init: spec.init ? true : null,
      CgroupnsMode: spec.cgroupns ?? 'private',
      Ulimits: spec.rlimits,
      OomScoreAdj: spec.oomScoreAdj ?? 0,
      Limits: spec.limits,
      CgroupParent: spec.cgroupParent ?? '',
      // --log-driver, --log-opt (Docker's shape: the options as given)
      LogConfig: { Type: spec.logConfig?.type ?? 'json-file', Config: spec.logConfig?.config ?? {} },
      RestartPolicy: {
        Name: spec.restartPolicy?.name ?? 'no',
        MaximumRetryCount: spec.restartPolicy?.maximumRetryCount ?? 0,
      },
      // Docker's names for --ipc, --pid, --uts ("" = a namespace of its own); ShmSize: its own
      // /dev/shm's, 0 when that is the host's or another container's (--ipc host|container:)
      IpcMode: spec.namespaces?.ipc ?? 'shareable',
      PidMode: spec.namespaces?.pid ?? '',
      UTSMode: spec.namespaces?.uts ?? '',
      ShmSize: /^(host|container:)/.test(spec.namespaces?.ipc ?? '') ? 0 : (spec.shmSize ?? 64 * 1024 * 1024),
    },
    CgroupPaths: s?.cgroupPaths ?? [],
    NetworkSettings: networkSettings(e, status === 'running'),
  };
}

/** Docker's NetworkSettings, in part: the mode, and while it runs its address, gateway, veth and ports. */
function networkSettings(e: Entry, running: boolean): Record<string, unknown> {
  const net = readNetworkRecord(e.dir);
  if (!net) return { NetworkMode: e.config?.spec.network?.mode ?? 'none', Ports: {} };
  // the launch's network and those of network connect, while it runs (Docker's Networks map)
  const on = running ? attachedNetworks(net, e.state) : [];
  const first = on[0];
  return {
    NetworkMode: net.mode === 'container' ? `container:${net.joined}` : net.mode === 'bridge' ? net.network : net.mode,
    IPAddress: first?.ip ?? '',
    IPPrefixLen: first?.prefixLen ?? 0,
    Gateway: first?.gateway ?? '',
    HostInterface: first?.hostIf ?? '',
    Networks: Object.fromEntries(
      on.map((n) => [
        n.network,
        {
          IPAddress: n.ip,
          IPPrefixLen: n.prefixLen,
          Gateway: n.gateway,
          HostInterface: n.hostIf,
          Aliases: n.aliases ?? null,
        },
      ]),
    ),
    Ports: Object.fromEntries(
      (running && first?.primary ? net.ports : []).map((p) => [
        `${p.containerPort}/${p.proto}`,
        [{ HostIp: p.hostIp ?? '0.0.0.0', HostPort: String(p.hostPort) }],
      ]),
    ),
  };
}
