/** How `replicate`'s MCP tools run a litestream command: in this process, its output captured. */
import { Writable } from "node:stream";
import { lazyCommand, runProgram, type ProgramSpec } from "@sqlrep/runtime";
import { databasesCommand } from "./commands/databases.js";
import { ltxCommand } from "./commands/ltx.js";
import { restoreCommand } from "./commands/restore.js";
import { statusCommand } from "./commands/status.js";
import { versionCommand } from "./commands/version.js";
import type { Io } from "./context.js";
import type { RunCommand } from "./mcp-server.js";

/** A stream that keeps what is written to it. */
class Capture extends Writable {
  text = "";
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString();
    callback();
  }
}

/** The commands the tools run (not main's list: that one includes replicate, which starts this). */
const TOOL_PROGRAM: ProgramSpec<Io> = {
  name: "litestream",
  description: "litestream is a tool for replicating SQLite databases.",
  commands: [
    databasesCommand,
    ltxCommand,
    lazyCommand<Io>("reset", "resets local replication state for a database", async () => (await import("./commands/reset.js")).resetCommand),
    restoreCommand,
    statusCommand,
    versionCommand,
  ],
};

/** Runs `litestream <argv>` with replicate's environment, working directory and signal. */
export function runInProcess(io: Io): RunCommand {
  return async (argv) => {
    const stdout = new Capture();
    const stderr = new Capture();
    const code = await runProgram(TOOL_PROGRAM, argv, { stdout, stderr, env: { ...io.env }, cwd: io.cwd, signal: io.signal });
    return { code, stdout: stdout.text, stderr: stderr.text };
  };
}
