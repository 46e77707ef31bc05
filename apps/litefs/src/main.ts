// The litefs program: its commands, its usage, and the entry point the bin and the tests call.
import { lazyCommand, programUsage, runProgram, type ProgramSpec } from "@sqlrep/runtime";
import type { Command } from "./command.js";
import { mountCommand } from "./commands/mount.js";
import { versionCommand } from "./commands/version.js";
import type { Io } from "./io.js";

/** Every command, in the order the usage lists them. */
export const COMMANDS: readonly Command[] = [
  mountCommand,
  lazyCommand("run", "runs a command as primary, on a candidate, or with the halt lock", async () => (await import("./commands/run.js")).runCommand),
  lazyCommand("import", "imports a SQLite database into the cluster", async () => (await import("./commands/import.js")).importCommand),
  lazyCommand("export", "exports a database from the cluster to a SQLite file", async () => (await import("./commands/export.js")).exportCommand),
  lazyCommand("status", "prints a node's role, primary and databases", async () => (await import("./commands/status.js")).statusCommand),
  lazyCommand("diverged", "lists and extracts transactions set aside by a split brain", async () => (await import("./commands/diverged.js")).divergedCommand),
  versionCommand,
];

const PROGRAM: ProgramSpec<Io> = {
  name: "litefs",
  description: "litefs is a distributed file system for replicating SQLite databases.",
  commands: COMMANDS,
  showStack: (_err, io) => Boolean(io.env["LITEFS_DEBUG"]),
};

/** The top-level usage text. */
export function usage(): string {
  return programUsage(PROGRAM);
}

/** Runs `litefs <args>` and resolves with the exit code (0 on success and on `-h`, 1 on any error). */
export async function main(args: readonly string[], io: Io): Promise<number> {
  return runProgram(PROGRAM, args, io);
}
