// The litestream program: its commands, its usage, and the entry point the bin and the tests call.
import type { Command } from "./command.js";
import { infoCommand, listCommand, registerCommand, startCommand, stopCommand, syncCommand, unregisterCommand } from "./commands/control.js";
import { databasesCommand } from "./commands/databases.js";
import { generationsCommand } from "./commands/generations.js";
import { importV3Command } from "./commands/import-v3.js";
import { walCommand } from "./commands/legacy.js";
import { ltxCommand } from "./commands/ltx.js";
import { restoreCommand } from "./commands/restore.js";
import { snapshotsCommand } from "./commands/snapshots.js";
import { statusCommand } from "./commands/status.js";
import { versionCommand } from "./commands/version.js";
import { isReportable, type Io } from "./context.js";
import { lazyCommand, programUsage, runProgram, type ProgramSpec } from "@sqlrep/runtime";

/**
 * `replicate` is loaded when it runs (or its usage is asked for): it pulls in the backup
 * engine and better-sqlite3 (~7 MiB resident, ~30 ms), which no other command needs —
 * a restore's start-up cost. Its summary is checked against the command's own in
 * main.test.ts.
 */
const replicateCommand = lazyCommand<Io>("replicate", "runs a server to replicate databases", async () => (await import("./commands/replicate.js")).replicateCommand);
/** `reset` takes the replication lock with the backup engine's code (better-sqlite3): loaded when it runs, too. */
const resetCommand = lazyCommand<Io>("reset", "resets local replication state for a database", async () => (await import("./commands/reset.js")).resetCommand);

/** Every command, in the order the usage lists them. */
export const COMMANDS: readonly Command[] = [
  databasesCommand,
  generationsCommand,
  importV3Command,
  infoCommand,
  listCommand,
  ltxCommand,
  registerCommand,
  replicateCommand,
  resetCommand,
  restoreCommand,
  snapshotsCommand,
  startCommand,
  statusCommand,
  stopCommand,
  syncCommand,
  unregisterCommand,
  versionCommand,
  walCommand,
];

const PROGRAM: ProgramSpec<Io> = {
  name: "litestream",
  description: "litestream is a tool for replicating SQLite databases.",
  commands: COMMANDS,
  // LITESTREAM_DEBUG adds the stack of an unexpected error (a bug) under its message.
  showStack: (err, io) => !isReportable(err) && Boolean(io.env["LITESTREAM_DEBUG"]),
};

/** The top-level usage text. */
export function usage(): string {
  return programUsage(PROGRAM);
}

/**
 * Runs `litestream <args>` and resolves with the exit code: 0 on success (and on
 * `-h`), 1 on any error (printed as `error: …` on stderr, with the usage for a usage
 * mistake).
 */
export async function main(args: readonly string[], io: Io): Promise<number> {
  copyCredentials(io.env);
  return runProgram(PROGRAM, args, io);
}

/** Litestream copies `LITESTREAM_ACCESS_KEY_ID`/`_SECRET_ACCESS_KEY` to the `AWS_*` names the SDK reads, when those are unset. */
export function copyCredentials(env: NodeJS.ProcessEnv): void {
  for (const suffix of ["ACCESS_KEY_ID", "SECRET_ACCESS_KEY"]) {
    const ours = env[`LITESTREAM_${suffix}`];
    if (ours && !env[`AWS_${suffix}`]) env[`AWS_${suffix}`] = ours;
  }
}
