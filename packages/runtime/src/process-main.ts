// A program's `main` as a process's entry point: signals become an abort, a closed pipe a
// clean exit, and the process ends with main's exit code once its output is flushed.

/** What the entry point hands to `main`: the process's streams and surroundings. */
export interface ProcessIo {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Fires on the first SIGINT/SIGTERM; its reason is the signal's name. */
  signal: AbortSignal;
}

/**
 * Runs `main(process.argv.slice(2), io)` and exits with its code. The first SIGINT/SIGTERM
 * aborts `io.signal` (the command stops gracefully); another one, when nothing else
 * handles it, exits at once (130/143). `cmd | head` closing stdout exits 0. The exit is
 * explicit: keep-alive sockets of SDK clients must not hold the process open.
 */
export async function runProcessMain(main: (args: readonly string[], io: ProcessIo) => Promise<number>): Promise<void> {
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(0);
    throw err;
  });
  const controller = new AbortController();
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.on(sig, () => {
      if (!controller.signal.aborted) controller.abort(sig);
      else if (process.listenerCount(sig) === 1) process.exit(sig === "SIGINT" ? 130 : 143);
    });
  }
  const code = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), signal: controller.signal });
  process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
}
