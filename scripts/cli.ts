/**
 * What the platform's command-line tools (`npm run dlq`, `npm run rebuild`) share: how a bad
 * command line is reported, and the frame of their `main`: parse (usage and exit 2 on a bad
 * line, the usage and exit 0 for `--help`), then run.
 */

/** Where a command writes, and the environment it reads its configuration from. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

/** The process's own streams and environment. */
export const processIo: CliIo = {
  stdout: (text) => process.stdout.write(`${text}\n`),
  stderr: (text) => process.stderr.write(`${text}\n`),
  env: process.env,
};

/** A bad command line; `problems` lists every one. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

/**
 * Parses `argv` with `parse` and runs the command with what it returned: a {@link UsageError}
 * prints each problem and `usage` (exit 2), `'help'` prints `usage` (exit 0).
 * @returns the exit code.
 */
export async function runCommand<T>(
  argv: readonly string[],
  io: CliIo,
  usage: string,
  parse: (argv: readonly string[]) => T | 'help',
  run: (args: T) => Promise<number>,
): Promise<number> {
  let args: T | 'help';
  try {
    args = parse(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(`${error.problems.map((p) => `error: ${p}`).join('\n')}\n\n${usage}`);
    return 2;
  }
  if (args === 'help') {
    io.stdout(usage);
    return 0;
  }
  return run(args);
}
