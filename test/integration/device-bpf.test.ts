// The cgroup v2 device filter against the real kernel. This project's machines are cgroup v1 hybrids,
// but the kernel's BPF device check follows a task's cgroup2 membership whatever the v1 controllers
// do, and the (empty) cgroup2 mount is there: so the program minidock attaches on v2 hosts is loaded
// by the real verifier and enforced on a real process here.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEVICE_RULES, deviceProgram, encodeEbpf, parseDeviceRule } from '../../src/runtime/cgroups/device-bpf';
import { mdBpfDeviceFilter } from '../../src/sys/native';
import { cgroup2, cgroup2Skip } from '../helpers';

describe.skipIf(cgroup2Skip !== '')(
  `eBPF device filter on a real cgroup2 directory${cgroup2Skip ? ` — SKIPPED: ${cgroup2Skip}` : ''}`,
  () => {
    const base = cgroup2 ? join(cgroup2.mountPoint, `minidock-devtest-${process.pid}`) : '';
    const nodes = mkdtempSync(join(tmpdir(), 'minidock-devnodes-'));
    afterAll(() => {
      for (const d of [join(base, 'filtered'), join(base, 'open'), base]) {
        for (let i = 0; i < 50 && existsSync(d); i++) {
          try {
            rmdirSync(d);
          } catch {
            /* EBUSY while the shell exits */
          }
        }
      }
      rmSync(nodes, { recursive: true, force: true });
    });

    /** A shell that moves itself into `cg`, then reads /dev/zero and a block device node it makes. */
    const probe = (cg: string, tag: string) =>
      spawnSync(
        'sh',
        [
          '-c',
          [
            `echo $$ > ${cg}/cgroup.procs || exit 99`,
            'head -c1 /dev/zero >/dev/null && echo zero=ok',
            `mknod ${nodes}/${tag} b 7 0 && echo mknod=ok`,
            `head -c1 ${nodes}/${tag} 2>&1 >/dev/null | grep -q 'Operation not permitted' && echo block=EPERM || echo block=not-EPERM`,
          ].join('; '),
        ],
        { encoding: 'utf8' },
      );

    it('the verifier accepts the program; a process in the cgroup may use /dev/zero and mknod, not open a block device', () => {
      mkdirSync(join(base, 'filtered'), { recursive: true });
      mkdirSync(join(base, 'open'));
      const prog = encodeEbpf(deviceProgram(DEVICE_RULES.map(parseDeviceRule)));
      expect(mdBpfDeviceFilter(prog, join(base, 'filtered'))).toBe(0);

      const f = probe(join(base, 'filtered'), 'loop-filtered');
      expect(f.status).toBe(0);
      expect(f.stdout.trim().split('\n')).toEqual(['zero=ok', 'mknod=ok', 'block=EPERM']);

      // the control: the same in a sibling cgroup without the program is not EPERM (ENXIO or a read)
      const o = probe(join(base, 'open'), 'loop-open');
      expect(o.stdout.trim().split('\n')).toEqual(['zero=ok', 'mknod=ok', 'block=not-EPERM']);
    });

    it('a program the verifier rejects is refused with the errno (here: no exit)', () => {
      const bad = encodeEbpf(deviceProgram(DEVICE_RULES.map(parseDeviceRule)).slice(0, -1));
      mkdirSync(base, { recursive: true });
      expect(mdBpfDeviceFilter(bad, base)).toBe(-22); // EINVAL from BPF_PROG_LOAD
    });
  },
);
