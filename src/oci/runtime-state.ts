// The runtime spec's state of a container (runtime.md), apart from state.ts, which keeps it on disk:
// hooks.ts hands it to every hook on stdin, and state.ts runs the poststop hooks, so with the type
// in either of the two they would import each other.

// ("paused" is never recorded: state.ts reads it from the freezer, src/oci/cgroup.ts)
export type OciStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

/** The runtime spec's state (runtime.md), as `state ID` prints it, plus runc's created/owner for `list`. */
export interface OciState {
  ociVersion: string;
  id: string;
  status: OciStatus;
  pid: number;
  bundle: string;
  rootfs?: string;
  created: string;
  annotations?: Record<string, string>;
  owner: string;
}
