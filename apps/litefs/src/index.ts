// @sqlrep/litefs: the program, for tests and for embedding the CLI.
export { COMMANDS, main, usage } from "./main.js";
export type { Io } from "./io.js";
export { VERSION } from "./version.js";
