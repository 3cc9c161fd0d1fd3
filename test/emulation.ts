// What the integration tests need to know about the CPU they run on: an emulated one (QEMU's TCG, as
// in test/v2/vm.sh) runs the same kernel code ~10x slower and delivers timer ticks late. Tests use it
// to give slow steps a budget derived from a measured launch and to say, in their names, which case
// they checked; a native check is never loosened.
import { readFileSync } from 'node:fs';
import { ROOTFS, canRun, minidock, removeStateRoot, tempStateRoot } from './helpers';

/**
 * Whether this kernel runs on an emulated CPU: QEMU's software emulation (TCG), as in test/v2/vm.sh.
 * QEMU names its own CPU models "QEMU TCG CPU" (-cpu max) or "QEMU Virtual CPU" (qemu64); under KVM
 * a guest also gets the paravirtual clock kvm-clock, which TCG cannot provide. Hardware virtualization
 * (KVM, Xen, Hyper-V: this project's own machines are VMs, with /proc/cpuinfo's "hypervisor" flag)
 * keeps the native timing and is not emulation. The CPU model's name, or '' when native.
 * Why it matters: TCG delivers timer interrupts late, so CFS bandwidth control, which checks the quota
 * on the tick, lets a cgroup overrun each 100 ms period by about a millisecond (measured: --cpu 25
 * gave 0.257-0.278 CPU on a quiet host, 0.298 on a loaded one).
 */
export const emulatedCpu = (() => {
  try {
    const model = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
    const clocks = readFileSync('/sys/devices/system/clocksource/clocksource0/available_clocksource', 'utf8');
    return /^QEMU (TCG|Virtual) CPU/.test(model) && !clocks.includes('kvm-clock') ? model : '';
  } catch {
    return '';
  }
})();

/**
 * Milliseconds of one `minidock run --rm ROOTFS true` through the CLI (node's start included), the
 * unit a slow step's budget is measured in: the faster of two runs, so one hiccup does not count.
 */
export function measureLaunchMs(root: string): number {
  let best = Infinity;
  for (let i = 0; i < 2; i++) {
    const t0 = Date.now();
    const r = minidock(['run', '--rm', ROOTFS, 'true'], { root });
    if (r.code !== 0) throw new Error(`measureLaunchMs: minidock run exited ${r.code}: ${r.stderr}`);
    best = Math.min(best, Date.now() - t0);
  }
  return best;
}

/**
 * On an emulated CPU (and where containers can run), one launch measured at collection time in a
 * throwaway state root, so that test names can state the budget derived from it; undefined natively,
 * where the tests keep their fixed, native budgets.
 */
export const emulatedLaunchMs: number | undefined = (() => {
  if (!emulatedCpu || !canRun) return undefined;
  const root = tempStateRoot();
  try {
    return measureLaunchMs(root);
  } catch {
    return undefined; // the tests themselves will show why a launch fails
  } finally {
    removeStateRoot(root);
  }
})();
