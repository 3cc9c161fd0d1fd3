// Launch cost of --network bridge vs none: an interleaved loop of `minidock run --rm --network none|bridge ./rootfs /bin/true`, medians.
// Usage (root, from the checkout): node bench/network-startup.mjs STATE_ROOT [ROUNDS]
import { spawnSync } from 'node:child_process';
const root = process.argv[2],
  N = Number(process.argv[3] ?? 15);
const t = { none: [], bridge: [] };
for (let i = 0; i < N; i++)
  for (const m of ['none', 'bridge']) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync('./bin/minidock.js', ['run', '--rm', '--root', root, '--network', m, './rootfs', '/bin/true']);
    if (r.status !== 0) throw new Error(String(r.stderr));
    t[m].push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
const med = (a) => a.sort((x, y) => x - y)[a.length >> 1];
console.log(
  `none ${med(t.none).toFixed(1)} ms, bridge ${med(t.bridge).toFixed(1)} ms (medians of ${N}, interleaved); load ${(await import('node:os')).loadavg()[0].toFixed(1)}`,
);
