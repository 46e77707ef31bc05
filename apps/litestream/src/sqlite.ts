/** Loads better-sqlite3 only when a command needs it, to keep the CLI's start-up fast. */
import { createRequire } from "node:module";
import type BetterSqlite3 from "better-sqlite3";

/**
 * better-sqlite3, loaded on first use: most commands never open a database, and the
 * native module costs start-up time.
 */
export function sqlite(): typeof BetterSqlite3 {
  return createRequire(import.meta.url)("better-sqlite3") as typeof BetterSqlite3;
}
