// The lesson format: step blocks, expect blocks, hidden exercise checks; the plain rendering; the
// checker's arithmetic. No root, no containers.
import { describe, expect, it } from 'vitest';
import { checkOne, firstNumber, hashAnswer, parseAnswers, withinTolerance } from '../../src/lesson/check';
import { LessonFormatError, parseLesson, parsePattern } from '../../src/lesson/parse';
import { renderPlain } from '../../src/lesson/plain';
import { cgroupMode, judge, showPattern, unmetNeeds } from '../../src/lesson/runner';

const meta = { number: 3, slug: 'demo', lang: 'en' as const, path: 'demo.md' };

const SAMPLE = `# 03 · A demo lesson

Intro paragraph.

## First section

Look at **this**.

\`\`\`sh step=one
echo one
\`\`\`

\`\`\`expect
^one$
! two
\`\`\`

A plain block is prose, not a step:

\`\`\`c
int main(void) { return 0; }
\`\`\`

\`\`\`sh step=two needs=docker,verb:doctor exit=137 timeout=5 slow
echo a
echo b
\`\`\`

After the last step.

## Exercises

1. **w** — Which errno?

<!-- a normal comment -->
<!-- check id=w type=word sha256=${hashAnswer('EINVAL').slice(0, 12)} -->
<!-- check id=n type=number tolerance=10%
measure: echo 50
-->
`;

describe('parseLesson', () => {
  const l = parseLesson(SAMPLE, meta);

  it('reads the title without its number, and every step in order', () => {
    expect(l.title).toBe('A demo lesson');
    expect(l.steps.map((s) => s.id)).toEqual(['one', 'two']);
    expect(l.steps.map((s) => s.index)).toEqual([0, 1]);
  });

  it('reads commands, patterns (negated too) and attributes', () => {
    const [one, two] = l.steps;
    expect(one.command).toBe('echo one');
    expect(one.expect.map((p) => [p.source, p.negate])).toEqual([
      ['^one$', false],
      ['! two', true],
    ]);
    expect(one).toMatchObject({ needs: [], slow: false, exit: 0, timeoutS: 60, section: 'First section', line: 9 });
    // the opening paragraph and the heading crossed belong to the first step's intro
    expect(one.intro).toBe('Intro paragraph.\n\n## First section\n\nLook at **this**.');
    expect(two.command).toBe('echo a\necho b');
    expect(two.expect).toEqual([]);
    expect(two).toMatchObject({ needs: ['docker', 'verb:doctor'], slow: true, exit: 137, timeoutS: 5 });
    // prose between steps includes the plain code block
    expect(two.intro).toContain('int main(void)');
  });

  it('keeps the text after the last step and the Exercises as the outro, without the hidden checks', () => {
    expect(l.outro).toBe('After the last step.\n\n## Exercises\n\n1. **w** — Which errno?');
    expect(parseLesson('# T\n\nNo steps at all.\n', meta).outro).toBe('No steps at all.');
  });

  it('reads the hidden checks', () => {
    expect(l.checks.map((c) => [c.id, c.type])).toEqual([
      ['w', 'word'],
      ['n', 'number'],
    ]);
    expect(l.checks[1]).toMatchObject({ measure: 'echo 50', tolerance: 0.1, relative: true });
  });

  it('rejects malformed lessons with the file and line', () => {
    const bad = (src: string, msg: RegExp) => {
      expect(() => parseLesson(src, meta)).toThrow(LessonFormatError);
      expect(() => parseLesson(src, meta)).toThrow(msg);
    };
    bad('# T\n```sh step=a\necho\n```\n```sh step=a\necho\n```\n', /demo\.md:5: duplicate step id a/);
    bad('# T\n```sh step=a colour=red\necho\n```\n', /cannot read "colour=red"/);
    bad('# T\n```sh step=a\necho\n```\n```expect\n(unclosed\n```\n', /demo\.md:6: step a: invalid pattern/);
    bad('# T\n```expect\nx\n```\n', /must follow a step/);
    bad('# T\n```sh step=a\necho\n', /unclosed code fence/);
    bad('# T\n<!-- check id=x type=number -->\n', /needs value= or measure:/);
    bad('# T\n<!-- check id=x type=word\n', /without -->/);
    bad('# T\n<!-- check id=x type=state\nrun: true\n-->\n', /a body line is/);
    bad('no title\n', /starts with a "# Title"/);
  });
});

describe('patterns and judging', () => {
  it('supports /regex/flags and plain regexes, multiline', () => {
    expect(parsePattern('/hello/i').regex.test('x\nHELLO\n')).toBe(true);
    expect(parsePattern('^b$').regex.test('a\nb\nc')).toBe(true);
    expect(parsePattern('! ^b$').negate).toBe(true);
  });

  it('reports which named case of a pattern matched', () => {
    const step = { expect: [parsePattern('/^int80: (?:(?<seccomp>SIGSYS)|(?<no_ia32>SIGSEGV))/')], exit: 0 as const };
    expect(judge(step, 'int80: SIGSYS\n', 0).patterns[0]).toMatchObject({ ok: true, cases: ['seccomp'] });
    expect(judge(step, 'int80: SIGSEGV\n', 0).patterns[0]).toMatchObject({ ok: true, cases: ['no_ia32'] });
    expect(judge(step, 'int80: ok\n', 0).patterns[0]).toMatchObject({ ok: false, cases: [] });
  });

  it('shows a pattern between slashes once, also when it is written /regex/flags', () => {
    expect(showPattern('/cgroup/i')).toBe('/cgroup/i');
    expect(showPattern('^1$')).toBe('/^1$/');
    expect(showPattern('! ^user$')).toBe('/^user$/');
    expect(showPattern('! /error/i')).toBe('/error/i');
  });

  it('passes only when every pattern and the exit status agree', () => {
    const step = { expect: [parsePattern('^ok$'), parsePattern('! error')], exit: 0 as const };
    expect(judge(step, 'ok\n', 0).ok).toBe(true);
    expect(judge(step, 'ok\nerror\n', 0).ok).toBe(false);
    expect(judge(step, 'nope\n', 0).patterns[0].ok).toBe(false);
    expect(judge(step, 'ok\n', 1).ok).toBe(false);
    expect(judge({ expect: [], exit: 'nonzero' }, '', 2).ok).toBe(true);
    expect(judge({ expect: [], exit: 'any' }, '', 0, true).ok).toBe(false); // a timeout never passes
    // colours do not get in the way
    expect(judge(step, '\x1b[32mok\x1b[0m\n', 0).ok).toBe(true);
  });
});

describe('renderPlain', () => {
  it('prints prose, steps as commands with expectations, and hides the checks', () => {
    const out = renderPlain(parseLesson(SAMPLE, meta));
    expect(out).toContain('Intro paragraph.');
    expect(out).toContain('    # step 1: one\n    echo one\n    #   expect: ^one$\n    #   expect no: two');
    expect(out).toContain('# step 2: two (needs docker, verb:doctor; slow; exit 137)\n    echo a\n    echo b');
    expect(out).toContain('int main(void)');
    expect(out).not.toContain('check id=');
    expect(out).not.toContain('```expect');
    expect(out).not.toContain('a normal comment');
  });
});

describe('the checker', () => {
  const ctx = { cwd: process.cwd() };
  const l = parseLesson(SAMPLE, meta);

  it('compares words by hash, normalized', () => {
    expect(checkOne(l.checks[0], '  EInval ', ctx).verdict).toBe('pass');
    expect(checkOne(l.checks[0], 'EPERM', ctx).verdict).toBe('fail');
    expect(checkOne(l.checks[0], undefined, ctx).verdict).toBe('unanswered');
  });

  it('compares numbers with a measured value within tolerance', () => {
    expect(checkOne(l.checks[1], '54 MiB', ctx)).toMatchObject({ verdict: 'pass', expected: '50' });
    const wrong = checkOne(l.checks[1], '56', ctx);
    expect(wrong.verdict).toBe('fail');
    // a wrong answer never carries the right one: nothing that prints the result can give it away
    expect(wrong.expected).toBeUndefined();
    expect(JSON.stringify(wrong)).not.toMatch(/\b50\b/);
    expect(checkOne(l.checks[1], 'fifty', ctx).verdict).toBe('fail');
    expect(checkOne(l.checks[1], '52,5', ctx).verdict).toBe('pass'); // a decimal comma
    expect(withinTolerance(0.52, 0.5, 0.05, false)).toBe(true);
    expect(withinTolerance(0.56, 0.5, 0.05, false)).toBe(false);
    expect(firstNumber('peak 50.0 MiB')).toBe(50);
    expect(firstNumber('none')).toBeNaN();
  });

  it('does not show the expected text on a wrong one', () => {
    const text = parseLesson('# T\n<!-- check id=t type=text\nmeasure: echo v1\n-->\n', meta).checks[0];
    expect(checkOne(text, 'V1', ctx)).toMatchObject({ verdict: 'pass', expected: 'v1' });
    const wrong = checkOne(text, 'v2', ctx);
    expect(wrong.verdict).toBe('fail');
    expect(JSON.stringify(wrong)).not.toContain('v1');
  });

  it('runs state tests with $ANSWER, and reports failed measurements', () => {
    const state = parseLesson(
      '# T\n<!-- check id=s type=state\ntest: [ "$ANSWER" = yes ]\n-->\n<!-- check id=m type=number\nmeasure: exit 3\n-->\n',
      meta,
    ).checks;
    expect(checkOne(state[0], 'yes', ctx).verdict).toBe('pass');
    expect(checkOne(state[0], 'no', ctx).verdict).toBe('fail');
    expect(checkOne(state[1], '1', ctx).verdict).toBe('error');
  });

  it('skips checks whose needs are unmet, naming the reason', () => {
    const c = parseLesson('# T\n<!-- check id=s type=state needs=cmd:no-such-program-xyz\ntest: true\n-->\n', meta)
      .checks[0];
    expect(checkOne(c, undefined, ctx)).toMatchObject({
      verdict: 'skipped',
      detail: 'needs the program no-such-program-xyz',
    });
  });

  it('reads answers from arguments and files', () => {
    expect([...parseAnswers(['a=1', 'b = two words'])]).toEqual([
      ['a', '1'],
      ['b', 'two words'],
    ]);
    expect(() => parseAnswers(['nonsense'])).toThrow(/id=value/);
  });
});

describe('needs', () => {
  it('tells cgroup v1 (also hybrid) from v2 by mountinfo', () => {
    const v1 =
      '30 25 0:26 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n31 25 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n';
    const v2 = '30 25 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n';
    expect(cgroupMode(v1)).toBe('v1');
    expect(cgroupMode(v2)).toBe('v2');
    expect(cgroupMode('')).toBe('none');
  });

  it('names unmet needs and slow steps', () => {
    const ctx = { cwd: process.cwd() };
    expect(unmetNeeds({ needs: ['cmd:sh'] }, ctx)).toEqual([]);
    expect(unmetNeeds({ needs: ['cmd:no-such-program-xyz', 'bogus'] }, ctx)).toEqual([
      'needs the program no-such-program-xyz',
      'unknown need "bogus"',
    ]);
    expect(unmetNeeds({ needs: [], slow: true }, { ...ctx, slow: false })[0]).toMatch(/^slow/);
    expect(unmetNeeds({ needs: [], slow: true }, { ...ctx, slow: true })).toEqual([]);
  });
});
