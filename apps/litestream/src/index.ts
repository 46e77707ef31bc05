// The public surface of @sqlrep/litestream: the CLI, runnable in-process.
export { main, usage, COMMANDS } from "./main.js";
export type { Io } from "./context.js";
export type { Command } from "./command.js";
