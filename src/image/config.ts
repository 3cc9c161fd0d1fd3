// The image config (the JSON blob an image's manifest points to) and how `minidock run` combines
// it with the command line — Docker's rules:
//   - command:  ENTRYPOINT + (CMD given on the command line, else the image's Cmd).
//               `--entrypoint X` replaces the image's Entrypoint AND drops its Cmd;
//               `--entrypoint ''` clears the Entrypoint.
//   - env:      the image's Env, then -e / --env-file on top (same name: the command line wins);
//               PATH falls back to the default only when the image sets none.
//   - workdir:  -w, else the image's WorkingDir, else "/".
//   - user:     -u, else the image's User, else root.
import { fail } from '../errors.js';

export interface ImageConfig {
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  WorkingDir?: string;
  User?: string;
  /** EXPOSE: `{"80/tcp": {}}`, the ports `run -P` publishes */
  ExposedPorts?: Record<string, Record<string, never>>;
  /** LABEL: metadata a container made from the image inherits (its own --label wins: run-image.ts) */
  Labels?: Record<string, string>;
}

export interface ParsedConfig {
  config: ImageConfig;
  diffIds: string[];
  created?: string;
  architecture?: string;
  os?: string;
}

const strList = (value: unknown, what: string): string[] | undefined => {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string'))
    return fail(`image config: ${what} must be a list of strings`);
  return value as string[];
};

/** config.Labels: an object of strings (null, as Docker writes "no labels", is none). */
function labelMap(value: unknown): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value) || Object.values(value).some((v) => typeof v !== 'string'))
    return fail('image config: config.Labels must map names to strings');
  return Object.keys(value).length ? { ...(value as Record<string, string>) } : undefined;
}

/** Parse an OCI / Docker image config (application/vnd.oci.image.config.v1+json). */
export function parseImageConfig(text: string, what: string): ParsedConfig {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    return fail(`${what}: not valid JSON (${(e as Error).message})`);
  }
  if (!json || typeof json !== 'object') return fail(`${what}: not a JSON object`);
  const rootfs = json.rootfs as { type?: string; diff_ids?: unknown } | undefined;
  if (!rootfs || rootfs.type !== 'layers' || !Array.isArray(rootfs.diff_ids)) {
    return fail(`${what}: no rootfs.diff_ids — not an image config`);
  }
  const diffIds = rootfs.diff_ids as unknown[];
  for (const diffId of diffIds)
    if (typeof diffId !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(diffId))
      fail(`${what}: diff ID ${JSON.stringify(diffId)} is not sha256:<64 hex digits>`);
  const rawConfig = (json.config ?? {}) as Record<string, unknown>;
  const config: ImageConfig = {};
  const env = strList(rawConfig.Env, 'config.Env');
  if (env) config.Env = env;
  const entrypoint = strList(rawConfig.Entrypoint, 'config.Entrypoint');
  if (entrypoint) config.Entrypoint = entrypoint;
  const cmd = strList(rawConfig.Cmd, 'config.Cmd');
  if (cmd) config.Cmd = cmd;
  if (typeof rawConfig.WorkingDir === 'string' && rawConfig.WorkingDir) config.WorkingDir = rawConfig.WorkingDir;
  if (typeof rawConfig.User === 'string' && rawConfig.User) config.User = rawConfig.User;
  const exposed = rawConfig.ExposedPorts;
  if (exposed && typeof exposed === 'object' && !Array.isArray(exposed) && Object.keys(exposed).length)
    config.ExposedPorts = Object.fromEntries(Object.keys(exposed).map((k) => [k, {}]));
  const labels = labelMap(rawConfig.Labels);
  if (labels) config.Labels = labels;
  return {
    config,
    diffIds: diffIds as string[],
    created: typeof json.created === 'string' ? json.created : undefined,
    architecture: typeof json.architecture === 'string' ? json.architecture : undefined,
    os: typeof json.os === 'string' ? json.os : undefined,
  };
}

export interface RunOverrides {
  /** --entrypoint: undefined = not given, '' = clear */
  entrypoint?: string;
  workdir?: string;
  user?: string;
}

export interface Resolved {
  args: string[];
  env: string[];
  workdir?: string;
  user?: string;
}

/** Docker's override rules (see the top of this file). */
export function applyImageConfig(cfg: ImageConfig, userArgs: string[], o: RunOverrides, imageName: string): Resolved {
  const entrypoint = o.entrypoint === undefined ? (cfg.Entrypoint ?? []) : o.entrypoint === '' ? [] : [o.entrypoint];
  const cmd = userArgs.length ? userArgs : o.entrypoint === undefined ? (cfg.Cmd ?? []) : [];
  const args = [...entrypoint, ...cmd];
  if (!args.length || !args[0]) {
    fail(`no command: image ${imageName} has no Entrypoint or Cmd — give one: minidock run ${imageName} CMD [ARG...]`);
  }
  let workdir = o.workdir ?? cfg.WorkingDir;
  // Docker reads a relative WorkingDir relative to "/"
  if (workdir !== undefined && o.workdir === undefined && !workdir.startsWith('/')) workdir = '/' + workdir;
  return { args, env: cfg.Env ?? [], workdir, user: o.user ?? cfg.User };
}

/** A config for an image made from a plain rootfs tar: like `docker import`, no command. */
export function rootfsTarConfig(diffId: string, created: string): Record<string, unknown> {
  return {
    architecture: process.arch === 'x64' ? 'amd64' : process.arch,
    os: 'linux',
    created,
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created, created_by: 'minidock import' }],
  };
}
