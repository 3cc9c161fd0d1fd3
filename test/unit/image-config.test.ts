// Image config parsing and Docker's override rules for `run IMAGE` (src/image/config.ts).
import { describe, expect, it } from 'vitest';
import { applyImageConfig, parseImageConfig, rootfsTarConfig } from '../../src/image/config';
import { MinidockError } from '../../src/errors';

const D = 'sha256:' + 'a'.repeat(64);

describe('parseImageConfig', () => {
  it('reads Env, Entrypoint, Cmd, WorkingDir, User and the diff IDs', () => {
    const p = parseImageConfig(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        created: '2024-01-01T00:00:00Z',
        config: {
          Env: ['A=1'],
          Entrypoint: ['/e'],
          Cmd: ['c', 'd'],
          WorkingDir: '/w',
          User: 'nobody',
          ExposedPorts: {},
        },
        rootfs: { type: 'layers', diff_ids: [D] },
      }),
      'cfg',
    );
    expect(p.config).toEqual({ Env: ['A=1'], Entrypoint: ['/e'], Cmd: ['c', 'd'], WorkingDir: '/w', User: 'nobody' });
    expect(p.diffIds).toEqual([D]);
    expect(p.created).toBe('2024-01-01T00:00:00Z');
  });
  it('treats null Entrypoint/Cmd (as Docker writes them) as absent', () => {
    const p = parseImageConfig(
      JSON.stringify({ config: { Entrypoint: null, Cmd: null }, rootfs: { type: 'layers', diff_ids: [] } }),
      'cfg',
    );
    expect(p.config).toEqual({});
  });
  it('refuses what is not an image config, in one line', () => {
    expect(() => parseImageConfig('{', 'x.json')).toThrow(/x\.json: not valid JSON/);
    expect(() => parseImageConfig('{"config":{}}', 'x.json')).toThrow(/no rootfs\.diff_ids/);
    expect(() =>
      parseImageConfig(JSON.stringify({ rootfs: { type: 'layers', diff_ids: ['md5:00'] } }), 'x.json'),
    ).toThrow(/not sha256/);
    expect(() =>
      parseImageConfig(JSON.stringify({ config: { Cmd: 'sh' }, rootfs: { type: 'layers', diff_ids: [] } }), 'x.json'),
    ).toThrow(MinidockError);
  });
});

describe("applyImageConfig (Docker's rules)", () => {
  const cfg = {
    Env: ['PATH=/x', 'A=1'],
    Entrypoint: ['/bin/sh', '-c'],
    Cmd: ['echo hi'],
    WorkingDir: '/app',
    User: '1000',
  };
  it('no arguments: Entrypoint + Cmd, WorkingDir, User, Env', () => {
    expect(applyImageConfig(cfg, [], {}, 'img')).toEqual({
      args: ['/bin/sh', '-c', 'echo hi'],
      env: ['PATH=/x', 'A=1'],
      workdir: '/app',
      user: '1000',
    });
  });
  it('arguments replace Cmd and keep Entrypoint', () => {
    expect(applyImageConfig(cfg, ['ls'], {}, 'img').args).toEqual(['/bin/sh', '-c', 'ls']);
  });
  it('--entrypoint replaces Entrypoint and drops Cmd; "" clears it', () => {
    expect(applyImageConfig(cfg, [], { entrypoint: '/bin/echo' }, 'img').args).toEqual(['/bin/echo']);
    expect(applyImageConfig(cfg, ['a'], { entrypoint: '/bin/echo' }, 'img').args).toEqual(['/bin/echo', 'a']);
    expect(applyImageConfig(cfg, ['id'], { entrypoint: '' }, 'img').args).toEqual(['id']);
  });
  it('-w and -u win over the image', () => {
    const r = applyImageConfig(cfg, [], { workdir: '/tmp', user: 'root' }, 'img');
    expect([r.workdir, r.user]).toEqual(['/tmp', 'root']);
  });
  it('a relative WorkingDir is taken from "/"', () => {
    expect(applyImageConfig({ Cmd: ['x'], WorkingDir: 'srv' }, [], {}, 'img').workdir).toBe('/srv');
  });
  it('no command anywhere is an error naming the image', () => {
    expect(() => applyImageConfig({}, [], {}, 'bb:latest')).toThrow(
      /no command: image bb:latest has no Entrypoint or Cmd/,
    );
    expect(() => applyImageConfig(cfg, [], { entrypoint: '' }, 'img')).toThrow(/no command/);
  });
  it('a rootfs tar gets a config without a command, like docker import', () => {
    const c = rootfsTarConfig(D, '2024-01-01T00:00:00Z') as {
      config: { Cmd?: string[] };
      rootfs: { diff_ids: string[] };
    };
    expect(c.config.Cmd).toBeUndefined();
    expect(c.rootfs.diff_ids).toEqual([D]);
  });
});
