// The live view of a bench run on a TTY (ink + React; loaded only then): one block per experiment,
// one line per runtime with a progress bar, the last value, and the median once it is known; ETA.
import type React from 'react';
import { useEffect, useState } from 'react';
import type * as Ink from 'ink';
import { emptyLive, eta, reduceLive, type LiveState } from '../bench/progress.js';
import type { BenchEvent, Emit } from '../bench/types.js';

type Listener = () => void;

// ink is an ES module with top-level await: it cannot be require()d from the CommonJS bundle, so it
// is loaded with import() when the view starts (React itself is CommonJS and bundles normally).
let Box: typeof Ink.Box;
let Text: typeof Ink.Text;

/** Hand the loaded ink module to the view (startLiveView does; tests do it with their own import). */
export function useInkModule(ink: typeof Ink): void {
  Box = ink.Box;
  Text = ink.Text;
}

export class LiveStore {
  state: LiveState = emptyLive();
  version = 0;
  private listeners = new Set<Listener>();
  emit = (e: BenchEvent): void => {
    reduceLive(this.state, e);
    this.version++;
    for (const l of this.listeners) l();
  };
  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}

const bar = (done: number, total: number, width = 20): string => {
  const n = total ? Math.round((Math.min(done, total) / total) * width) : 0;
  return '█'.repeat(n) + '░'.repeat(width - n);
};

const fmt = (v: number | undefined, unit = ''): string =>
  v === undefined ? '' : `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${unit}`.trim();

export function LiveView({ store }: { store: LiveStore }): React.ReactElement {
  const [, setVersion] = useState(0);
  const [now, setNow] = useState(Date.now());
  useEffect(() => store.subscribe(() => setVersion(store.version)), [store]);
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(t);
  }, []);
  const s = store.state;
  return (
    <Box flexDirection="column">
      <Text bold>minidock bench</Text>
      {s.experiments.map((x) => {
        const left = eta(x, now);
        return (
          <Box key={x.name} flexDirection="column" marginTop={1}>
            <Text>
              <Text bold color="cyan">
                {x.name.padEnd(10)}
              </Text>
              <Text dimColor>
                {x.seconds !== undefined
                  ? ` done in ${x.seconds.toFixed(1)} s`
                  : ` ${x.done}/${x.total}${left !== undefined ? `  ETA ${left.toFixed(0)} s` : ''}`}
              </Text>
            </Text>
            {x.runtimes.map((rt) => {
              const c = s.cells[`${x.name}/${rt}`] ?? { done: 0, total: 0 };
              return (
                <Text key={rt}>
                  {'  '}
                  {rt.padEnd(9)}
                  {c.skipped ? (
                    <Text color="yellow">skipped: {c.skipped.slice(0, 90)}</Text>
                  ) : (
                    <>
                      <Text color="green">{bar(c.done, c.total)}</Text>
                      <Text> {`${c.done}/${c.total}`.padEnd(7)}</Text>
                      <Text dimColor>
                        {c.last !== undefined ? ` last ${fmt(c.last, c.unit)}`.padEnd(16) : ''.padEnd(16)}
                      </Text>
                      {c.median !== undefined || c.text ? (
                        <Text bold> {c.text ?? `median ${fmt(c.median, c.unit)}`}</Text>
                      ) : null}
                    </>
                  )}
                </Text>
              );
            })}
          </Box>
        );
      })}
      {s.notes.slice(-3).map((n, i) => (
        <Text key={i} dimColor>
          {n}
        </Text>
      ))}
    </Box>
  );
}

/** Draw on stderr (stdout stays for the summary), until stop(). */
export async function startLiveView(): Promise<{ emit: Emit; stop: () => Promise<void> }> {
  const ink = await import('ink');
  useInkModule(ink);
  const store = new LiveStore();
  const inst = ink.render(<LiveView store={store} />, {
    stdout: process.stderr,
    patchConsole: false,
    exitOnCtrlC: false,
  });
  return {
    emit: store.emit,
    stop: async () => {
      await new Promise((r) => setTimeout(r, 50)); // let the last frame draw
      inst.unmount();
    },
  };
}
