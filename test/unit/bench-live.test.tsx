// The live view draws progress per experiment × runtime, skips, and medians as they come in.
import { describe, expect, it } from 'vitest';
import React from 'react';
import * as ink from 'ink';
import { render } from 'ink-testing-library';
import { LiveStore, LiveView, useInkModule } from '../../src/cli/bench-live';

describe('bench live view', () => {
  it("shows each runtime's progress, the median once known, and skips with their reason", async () => {
    useInkModule(ink);
    const store = new LiveStore();
    const view = render(<LiveView store={store} />);
    store.emit({ type: 'skip', experiment: 'startup', runtime: 'docker', reason: 'dockerd is not running' });
    store.emit({ type: 'experiment', name: 'startup', runtimes: ['bare', 'runc'], total: 4 });
    store.emit({ type: 'step', experiment: 'startup', runtime: 'runc', done: 1, total: 2, value: 20.4, unit: 'ms' });
    store.emit({ type: 'step', experiment: 'startup', runtime: 'bare', done: 2, total: 2, value: 0.9, unit: 'ms' });
    store.emit({ type: 'summary', experiment: 'startup', runtime: 'bare', median: 0.75, unit: 'ms' });
    await new Promise((r) => setTimeout(r, 50));
    const frame = view.lastFrame() ?? '';
    expect(frame).toMatch(/startup\s+3\/4/);
    expect(frame).toMatch(/bare\s+█{20} 2\/2\s+last 0\.9 ms\s+median 0\.8 ms/);
    expect(frame).toMatch(/runc\s+█{10}░{10} 1\/2\s+last 20\.4 ms/);
    expect(frame).toMatch(/docker\s+skipped: dockerd is not running/);
    view.unmount();
  });
});
