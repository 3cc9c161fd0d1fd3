// The live view of `minidock stats` (ink + React). Re-samples every second; q or Ctrl-C quits.
// ink is an ES module with top-level await, so it cannot be require()d from the CommonJS bundle:
// it is loaded with import() here, on first use, and only by this verb.
import type * as InkModule from 'ink';
import { useEffect, useState } from 'react';
import { sampleRows, targets, type StatsRow } from '../runtime/lifecycle/stats.js';
import { tableLines } from './format-stats.js';

export async function showLive(root: string, refs: string[]): Promise<void> {
  const { Box, Text, render, useApp, useInput }: typeof InkModule = await import('ink');

  function StatsView(): React.JSX.Element {
    const { exit } = useApp();
    const [rows, setRows] = useState<StatsRow[] | undefined>();
    const [error, setError] = useState<string | undefined>();
    useInput((input, key) => {
      if (input === 'q' || (key.ctrl && input === 'c')) exit();
    });
    useEffect(() => {
      let alive = true;
      const loop = async (): Promise<void> => {
        for (let first = true; alive; first = false) {
          try {
            const r = await sampleRows(targets(root, refs), first ? 300 : 1000); // show something soon
            if (alive) setRows(r);
          } catch (e) {
            if (alive) setError((e as Error).message);
            return;
          }
        }
      };
      void loop();
      return () => {
        alive = false;
      };
    }, []);
    if (error) return <Text color="red">minidock: {error}</Text>;
    if (!rows) return <Text dimColor>sampling the cgroups…</Text>;
    const [head, ...body] = tableLines(rows);
    return (
      <Box flexDirection="column">
        <Text bold>{head}</Text>
        {body.map((l, i) => (
          <Text key={i}>{l}</Text>
        ))}
        {body.length === 0 && <Text dimColor>(no running containers)</Text>}
        <Text dimColor>q to quit · memory and pids from the cgroup files, CPU % over the last second</Text>
      </Box>
    );
  }

  const app = render(<StatsView />, { exitOnCtrlC: true });
  await app.waitUntilExit();
}
