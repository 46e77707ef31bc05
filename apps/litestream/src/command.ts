import type { Io } from "./context.js";
import { describeFlags, parseFlags, type FlagSpecs, type ParsedArgs } from "./flags.js";

/** One `litestream <command>`. */
export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** Runs with the words after the command name; resolves with the exit code. */
  run(args: readonly string[], io: Io): Promise<number>;
  /** The full help text. */
  usage(): string;
}

/** What a command declares; {@link defineCommand} adds parsing and the usage text. */
export interface CommandSpec<S extends FlagSpecs> {
  name: string;
  summary: string;
  /** The paragraph at the top of the help text. */
  description: string;
  /** Usage lines without the `litestream <name> ` prefix, e.g. `[arguments] DB_PATH`. */
  synopsis: readonly string[];
  flags: S;
  /** Example lines (`# comment` then `$ command`), optional. */
  examples?: readonly string[];
  run(parsed: ParsedArgs<S>, io: Io): Promise<number>;
}

/** A command with Go-flag parsing and a usage text in Litestream's layout. */
export function defineCommand<S extends FlagSpecs>(spec: CommandSpec<S>): Command {
  return {
    name: spec.name,
    summary: spec.summary,
    run: (args, io) => spec.run(parseFlags(args, spec.flags), io),
    usage() {
      const lines = [spec.description.trim(), "", "Usage:", "", ...spec.synopsis.map((s) => `\tlitestream ${spec.name} ${s}`.trimEnd()).flatMap((s) => [s, ""])];
      if (Object.keys(spec.flags).length > 0) lines.push("Arguments:", "", describeFlags(spec.flags));
      if (spec.examples?.length) lines.push("Examples:", "", ...spec.examples.map((e) => (e === "" ? "" : `\t${e}`)), "");
      return lines.join("\n").replace(/\n+$/, "\n");
    },
  };
}
