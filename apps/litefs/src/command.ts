// litefs's commands: the runtime's command framework bound to this program's name and Io.
import { defineCommand as defineProgramCommand, type Command as ProgramCommand, type CommandSpec, type FlagSpecs } from "@sqlrep/runtime";
import type { Io } from "./io.js";

/** One `litefs <command>`. */
export type Command = ProgramCommand<Io>;

/** A command with Go-flag parsing and a usage text in LiteFS's layout. */
export function defineCommand<S extends FlagSpecs>(spec: CommandSpec<S, Io>): Command {
  return defineProgramCommand("litefs", spec);
}
