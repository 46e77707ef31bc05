// Directory mode at the start of `replicate`: every directory entry of the config becomes
// the databases it holds now (a directory watch then follows the changes).
import type { DatabaseConfig, LitestreamConfig } from "./config.js";
import { CliError } from "./context.js";
import { directoryDatabase, scanDirectory } from "./directory-scan.js";

/**
 * The databases every directory entry of a config holds now (what `replicate` starts
 * with). Throws CliError when a directory cannot be read, when one without `watch` holds
 * no database (as Litestream does), or when a database is also listed by path.
 */
export function expandDirectories(config: LitestreamConfig): DatabaseConfig[] {
  const seen = new Set(config.dbs.map((db) => db.path));
  const out: DatabaseConfig[] = [];
  for (const entry of config.directories) {
    let paths: string[];
    try {
      paths = scanDirectory(entry);
    } catch (err) {
      throw new CliError(`cannot scan directory ${entry.path}: ${(err as Error).message}`, { cause: err });
    }
    if (paths.length === 0 && !entry.directory.watch) {
      throw new CliError(`no SQLite databases found in directory ${entry.path} with pattern ${entry.directory.pattern} (set watch: true to wait for them)`);
    }
    for (const path of paths) {
      if (seen.has(path)) throw new CliError(`database ${path} is listed twice in the config (directory ${entry.path} also holds it)`);
      seen.add(path);
      out.push(directoryDatabase(entry, path));
    }
  }
  return out;
}
