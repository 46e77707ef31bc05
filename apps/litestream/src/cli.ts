#!/usr/bin/env node
import { main } from "./main.js";

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
