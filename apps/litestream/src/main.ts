import type { Command } from "./command.js";
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
import { FlagValueError, HelpRequested, UsageError } from "./flags.js";

/**
 * `replicate` is loaded when it runs (or its usage is asked for): it pulls in the backup
 * engine and better-sqlite3 (~7 MiB resident, ~30 ms), which no other command needs —
 * a restore's start-up cost. Its summary is checked against the command's own in
 * main.test.ts.
 */
const replicateCommand = lazyCommand("replicate", "runs a server to replicate databases", async () => (await import("./commands/replicate.js")).replicateCommand);

/** Every command, in the order the usage lists them. */
export const COMMANDS: readonly Command[] = [
  databasesCommand,
  generationsCommand,
  importV3Command,
  ltxCommand,
  replicateCommand,
  restoreCommand,
  snapshotsCommand,
  statusCommand,
  versionCommand,
  walCommand,
];

/** The top-level usage text. */
export function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 4;
  return [
    "litestream is a tool for replicating SQLite databases.",
    "",
    "Usage:",
    "",
    "\tlitestream <command> [arguments]",
    "",
    "The commands are:",
    "",
    ...COMMANDS.map((c) => `\t${c.name.padEnd(width)}${c.summary}`),
    "",
    'Run "litestream <command> -h" for a command\'s arguments.',
    "",
  ].join("\n");
}

/**
 * Runs `litestream <args>` and resolves with the exit code: 0 on success (and on
 * `-h`), 1 on any error (printed as `error: …` on stderr, with the usage for a usage
 * mistake).
 */
export async function main(args: readonly string[], io: Io): Promise<number> {
  copyCredentials(io.env);
  const [name, ...rest] = args;
  if (name === undefined) {
    io.stderr.write(usage());
    return 1;
  }
  if (name === "help" || name === "-h" || name === "-help" || name === "--help") {
    const command = COMMANDS.find((c) => c.name === rest[0]);
    io.stdout.write(command ? (await loaded(command)).usage() : usage());
    return 0;
  }
  const found = COMMANDS.find((c) => c.name === name);
  if (!found) {
    io.stderr.write(`error: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    return 1;
  }
  const command = await loaded(found);
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof HelpRequested) {
      io.stdout.write(command.usage());
      return 0;
    }
    if (err instanceof FlagValueError) {
      io.stderr.write(`error: ${err.message}\n(run "litestream ${command.name} -h" for its flags)\n`);
      return 1;
    }
    if (err instanceof UsageError) {
      io.stderr.write(`error: ${err.message}\n\n${command.usage()}`);
      return 1;
    }
    io.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    if (!isReportable(err) && err instanceof Error && io.env["LITESTREAM_DEBUG"]) io.stderr.write(`${err.stack}\n`);
    return 1;
  }
}

/** Litestream copies `LITESTREAM_ACCESS_KEY_ID`/`_SECRET_ACCESS_KEY` to the `AWS_*` names the SDK reads, when those are unset. */
export function copyCredentials(env: NodeJS.ProcessEnv): void {
  for (const suffix of ["ACCESS_KEY_ID", "SECRET_ACCESS_KEY"]) {
    const ours = env[`LITESTREAM_${suffix}`];
    if (ours && !env[`AWS_${suffix}`]) env[`AWS_${suffix}`] = ours;
  }
}

/** A command whose module is imported on first use; `loaded` gives the real one. */
interface LazyCommand extends Command {
  load(): Promise<Command>;
}

/** A stand-in for a command with a heavy module: name and summary for the command list, the rest once loaded. */
export function lazyCommand(name: string, summary: string, load: () => Promise<Command>): LazyCommand {
  let real: Promise<Command> | undefined;
  const lazy: LazyCommand = {
    name,
    summary,
    load: () => (real ??= load()),
    run: async (args, io) => (await lazy.load()).run(args, io),
    usage: () => {
      throw new Error(`the ${name} command is not loaded yet`);
    },
  };
  return lazy;
}

/** The command itself, its module loaded if it is lazy. */
async function loaded(command: Command): Promise<Command> {
  return "load" in command ? (command as LazyCommand).load() : command;
}
