/**
 * @emu/cli-kit — the manners every emu command-line app shares, written once.
 *
 * `runMain` runs a command with the process's streams and environment and exits with the status it returns. A reader
 * that went away (`emu-pci status | head -1`) is not a failure: EPIPE on stdout or stderr is swallowed and the status
 * stays the command's. A failure the command did not turn into a status (a bug) prints its stack and exits 70
 * (EX_SOFTWARE), so scripts can tell it from the documented statuses (0 ok, 1 failed, 2 usage).
 */

/** Where a command writes (process.stdout/stderr, or a test's collector) and its environment. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** The exit status of a failure the command did not handle. */
export const EXIT_UNEXPECTED = 70;

/** EPIPE on these streams is swallowed (the rest of the output goes nowhere); any other stream error is thrown. */
export function tolerateBrokenPipe(...streams: NodeJS.WriteStream[]): void {
  for (const s of streams)
    s.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code !== "EPIPE") throw e;
    });
}

/** Runs `command` (named `name` in messages) with `argv` and the process's streams; sets `process.exitCode`. */
export function runMain(name: string, command: (argv: readonly string[], io: CliIo) => Promise<number>): void {
  tolerateBrokenPipe(process.stdout, process.stderr);
  command(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
    (status) => {
      process.exitCode = status;
    },
    (e: unknown) => {
      process.stderr.write(`${name}: unexpected failure: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = EXIT_UNEXPECTED;
    },
  );
}
