#!/usr/bin/env node
/** The `litestream` executable: runs `main` on the process's argv and streams, turning SIGINT/SIGTERM into an abort and a closed pipe into a clean exit. */
import { main } from "./main.js";

// The AWS SDK warns on every run that its 2027 releases will need Node 22: noise on a
// CLI's stderr (the README says so). Set the variable to "false" to see it.
process.env["AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED"] ??= "true";

// `litestream status -json | head`: the reader went away, which is how such a pipe ends.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

// The first SIGINT/SIGTERM aborts the running command (replicate stops gracefully,
// restore removes its temp file); another one, when nothing else handles it, exits.
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
// Exit now: keep-alive sockets of SDK clients must not hold the process open.
process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
