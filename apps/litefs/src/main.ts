// The litefs program: its commands, its usage, and the entry point the bin and the tests call.
import { programUsage, runProgram, type ProgramSpec } from "@sqlrep/runtime";
import type { Command } from "./command.js";
import { mountCommand } from "./commands/mount.js";
import { versionCommand } from "./commands/version.js";
import type { Io } from "./io.js";

/** Every command, in the order the usage lists them. */
export const COMMANDS: readonly Command[] = [mountCommand, versionCommand];

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
