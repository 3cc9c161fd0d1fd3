// The Podman peer's availability probe with a stand-in `podman` on PATH: installed is not enough,
// it must be able to start its runtime (`podman info`), or it is unavailable with Podman's reason
// (the cgroup v2 guest of test/v2 shares the host's /usr but has a read-only /etc).
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PodmanPeer } from '../../src/bench/peers/engines.js';
import type { BenchContext } from '../../src/bench/peers/types.js';

const dirs: string[] = [];
const path = process.env.PATH;
afterEach(() => {
  process.env.PATH = path;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** a PATH with only a fake podman (answering `info` with infoScript) and a fake runc and conmon */
function fakePath(infoScript: string): void {
  const d = mkdtempSync(join(tmpdir(), 'md-podman-'));
  dirs.push(d);
  const put = (name: string, body: string): void => {
    writeFileSync(join(d, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(d, name), 0o755);
  };
  put('podman', `case " $* " in *" --version "*) echo "podman version 4.3.1";; *" info "*) ${infoScript};; esac`);
  put('runc', 'echo "runc version 1.1.5"');
  put('conmon', 'echo "conmon version 2.1.6"');
  process.env.PATH = `${d}:/usr/bin:/bin`;
}

describe('PodmanPeer.detect', () => {
  const ctx = {} as BenchContext;
  it('an installed podman whose `podman info` fails is unavailable, with the reason Podman gave', () => {
    fakePath('echo "Error: open /etc/containers/networks/netavark.lock: read-only file system" >&2; exit 125');
    const det = new PodmanPeer().detect(ctx);
    expect(det.available).toBe(false);
    expect(det.reason).toBe(
      'podman cannot run here: `podman info` failed: open /etc/containers/networks/netavark.lock: read-only file system',
    );
    expect(det.fix).toMatch(/^podman info/);
  });

  it('one whose `podman info` works is available, with its version', () => {
    fakePath('echo overlay');
    const det = new PodmanPeer().detect(ctx);
    expect(det.available).toBe(true);
    expect(det.version).toBe('4.3.1 (conmon 2.1.6)');
  });
});
