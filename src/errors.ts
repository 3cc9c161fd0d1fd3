// One way to report errors. Everything minidock itself rejects becomes a MinidockError carrying
// one clear line (what was wrong and how to fix it) and the exit code Docker would use:
// 125 for minidock's own errors, 126 command not executable, 127 command not found.
// The CLI prints `minidock: <message>` to stderr and exits with `code`.

export class MinidockError extends Error {
  constructor(
    message: string,
    readonly code: number = 125,
  ) {
    super(message);
    this.name = 'MinidockError';
  }
}

/** Throw a MinidockError (exit 125) — for validating user input. */
export function fail(message: string, code = 125): never {
  throw new MinidockError(message, code);
}
