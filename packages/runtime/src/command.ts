// Commands in the style of Go CLIs (`litestream restore -o PATH DB`, `litefs mount -config …`):
// each declares its flags and help texts; parsing and the usage layout come from here.
import { describeFlags, parseFlags, type FlagSpecs, type ParsedArgs } from "./flags.js";

/** What every command writes to; an app's own `Io` adds what its commands need (cwd, signal…). */
export interface CommandIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: NodeJS.ProcessEnv;
}

/** One `<program> <command>`. */
export interface Command<IO> {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** Runs with the words after the command name; resolves with the exit code. */
  run(args: readonly string[], io: IO): Promise<number>;
  /** The full help text. */
  usage(): string;
}

/** What a command declares; {@link defineCommand} adds parsing and the usage text. */
export interface CommandSpec<S extends FlagSpecs, IO> {
  name: string;
  summary: string;
  /** The paragraph at the top of the help text. */
  description: string;
  /** Usage lines without the `<program> <name> ` prefix, e.g. `[arguments] DB_PATH`. */
  synopsis: readonly string[];
  flags: S;
  /** Example lines (`# comment` then `$ command`), optional. */
  examples?: readonly string[];
  run(parsed: ParsedArgs<S>, io: IO): Promise<number>;
}

/** A command of `program` with Go-flag parsing and a usage text in Litestream's layout. */
export function defineCommand<S extends FlagSpecs, IO>(program: string, spec: CommandSpec<S, IO>): Command<IO> {
  return {
    name: spec.name,
    summary: spec.summary,
    run: (args, io) => spec.run(parseFlags(args, spec.flags), io),
    usage() {
      const lines = [spec.description.trim(), "", "Usage:", "", ...spec.synopsis.map((s) => `\t${program} ${spec.name} ${s}`.trimEnd()).flatMap((s) => [s, ""])];
      if (Object.keys(spec.flags).length > 0) lines.push("Arguments:", "", describeFlags(spec.flags));
      if (spec.examples?.length) lines.push("Examples:", "", ...spec.examples.map((e) => (e === "" ? "" : `\t${e}`)), "");
      return lines.join("\n").replace(/\n+$/, "\n");
    },
  };
}

/** A command whose module is imported on first use (a heavy engine no other command needs). */
export interface LazyCommand<IO> extends Command<IO> {
  /** The real command, its module loaded once. */
  load(): Promise<Command<IO>>;
}

/**
 * A stand-in for a command with a heavy module: its name and summary for the command
 * list; the rest once `load` resolved ({@link runProgram} loads it before use).
 */
export function lazyCommand<IO>(name: string, summary: string, load: () => Promise<Command<IO>>): LazyCommand<IO> {
  let real: Promise<Command<IO>> | undefined;
  const lazy: LazyCommand<IO> = {
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
export async function loadCommand<IO>(command: Command<IO>): Promise<Command<IO>> {
  return "load" in command ? (command as LazyCommand<IO>).load() : command;
}
