#!/usr/bin/env node
/** The `litefs` executable: runs `main` on the process's argv and streams, turning SIGINT/SIGTERM into an abort. */
import { main } from "./main.js";

process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

// The first SIGINT/SIGTERM aborts the running command (mount unmounts and hands the
// lease off); another one, when nothing else handles it, exits.
const controller = new AbortController();
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    if (!controller.signal.aborted) controller.abort(sig);
    else if (process.listenerCount(sig) === 1) process.exit(sig === "SIGINT" ? 130 : 143);
  });
}

const code = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  signal: controller.signal,
});
process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
