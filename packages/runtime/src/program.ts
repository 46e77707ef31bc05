// The top of a Go-style CLI: picks the command, prints the usage and help, and turns errors
// into `error: …` lines and exit codes (0 on success and on -h, 1 on any error).
import { loadCommand, type Command, type CommandIo } from "./command.js";
import { isRuntimeError } from "./errors.js";

/** A program: its name, its one-line description and its commands, in the order the usage lists them. */
export interface ProgramSpec<IO extends CommandIo> {
  name: string;
  /** The first line of the usage (`litestream is a tool for replicating SQLite databases.`). */
  description: string;
  commands: readonly Command<IO>[];
  /** Whether an unexpected error's stack goes to stderr under its message (a debug variable is set, the error is not a plain report). */
  showStack?(err: unknown, io: IO): boolean;
}

/** The top-level usage text. */
export function programUsage<IO extends CommandIo>(program: ProgramSpec<IO>): string {
  const width = Math.max(...program.commands.map((c) => c.name.length)) + 4;
  return [
    program.description,
    "",
    "Usage:",
    "",
    `\t${program.name} <command> [arguments]`,
    "",
    "The commands are:",
    "",
    ...program.commands.map((c) => `\t${c.name.padEnd(width)}${c.summary}`),
    "",
    `Run "${program.name} <command> -h" for a command's arguments.`,
    "",
  ].join("\n");
}

/**
 * Runs `<program> <args>` and resolves with the exit code: no command prints the usage on
 * stderr (1); `help [command]`, `-h`, `-help`, `--help` print it on stdout (0); a usage
 * mistake prints `error: …` and the command's usage (1); a bad flag value one line and a
 * pointer to `-h` (1); any other error `error: <message>` (1).
 */
export async function runProgram<IO extends CommandIo>(program: ProgramSpec<IO>, args: readonly string[], io: IO): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined) {
    io.stderr.write(programUsage(program));
    return 1;
  }
  if (name === "help" || name === "-h" || name === "-help" || name === "--help") {
    const command = program.commands.find((c) => c.name === rest[0]);
    io.stdout.write(command ? (await loadCommand(command)).usage() : programUsage(program));
    return 0;
  }
  const found = program.commands.find((c) => c.name === name);
  if (!found) {
    io.stderr.write(`error: unknown command ${JSON.stringify(name)}\n\n${programUsage(program)}`);
    return 1;
  }
  const command = await loadCommand(found);
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (isRuntimeError(err, "help")) {
      io.stdout.write(command.usage());
      return 0;
    }
    if (isRuntimeError(err, "usage")) {
      io.stderr.write(`error: ${err.message}\n\n${command.usage()}`);
      return 1;
    }
    if (isRuntimeError(err, "flag-value")) {
      io.stderr.write(`error: ${err.message}\n(run "${program.name} ${command.name} -h" for its flags)\n`);
      return 1;
    }
    io.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    if (err instanceof Error && program.showStack?.(err, io)) io.stderr.write(`${err.stack}\n`);
    return 1;
  }
}
