/**
 * A reader that went away (`emu-lspci sock | head -1`) is not a failure: EPIPE on stdout or stderr is swallowed (the
 * rest of the output goes nowhere) and the program still exits with the status its command returns. Any other
 * stream error is thrown.
 */
export function tolerateBrokenPipe(...streams: NodeJS.WriteStream[]): void {
  for (const s of streams)
    s.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code !== "EPIPE") throw e;
    });
}
