// `minidock lesson N --plain`: the walkthrough as text for reading and copy-paste. Prose stays as it
// is; each step becomes its commands (ready to paste) with the expected output as comments; the
// hidden exercise checks are dropped.
import type { Lesson } from './parse.js';
import { describeExit } from './runner.js';
import { strings } from './strings.js';

export function renderPlain(lesson: Lesson): string {
  const words = strings(lesson.lang);
  const out: string[] = [];
  const lines = lesson.source.split('\n');
  const byLine = new Map(lesson.steps.map((step) => [step.line, step]));
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (/^<!--/.test(line)) {
      while (i < lines.length && !lines[i].includes('-->')) i++;
      i++;
      continue;
    }
    const step = byLine.get(i + 1);
    if (!step) {
      out.push(line);
      i++;
      continue;
    }
    // skip the step fence and its expect block in the source
    const fence = /^(`{3,}|~{3,})/.exec(line)![1];
    i++;
    while (i < lines.length && lines[i].trim() !== fence) i++;
    i++;
    let j = i;
    while (j < lines.length && lines[j].trim() === '') j++;
    if (j < lines.length && /^(`{3,}|~{3,})\s*expect\s*$/.test(lines[j])) {
      const expectFence = /^(`{3,}|~{3,})/.exec(lines[j])![1];
      j++;
      while (j < lines.length && lines[j].trim() !== expectFence) j++;
      i = j + 1;
    }
    const tags = [
      step.needs.length ? `${words.plainNeeds} ${step.needs.join(', ')}` : '',
      step.slow ? words.plainSlow : '',
      step.exit !== 0 ? describeExit(step.exit, lesson.lang) : '',
    ].filter(Boolean);
    out.push(`    # ${words.plainStep} ${step.index + 1}: ${step.id}${tags.length ? ` (${tags.join('; ')})` : ''}`);
    for (const commandLine of step.command.split('\n')) out.push(`    ${commandLine}`);
    for (const pattern of step.expect)
      out.push(
        `    #   ${pattern.negate ? words.plainExpectNo : words.plainExpect}: ${pattern.negate ? pattern.source.slice(2) : pattern.source}`,
      );
  }
  return (
    out
      .join('\n')
      .replace(/\n{3,}/g, '\n\n')
      .trimEnd() + '\n'
  );
}
