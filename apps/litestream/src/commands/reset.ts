// `litestream reset`: clears a database's local replication state (its local log), as
// Litestream v0.5's reset removes its `-litestream/ltx` directory; the database and the
// replicas are untouched.
import { existsSync } from "node:fs";
import { isBackupError, resetLocalState } from "@sqlrep/backup";
import { defineFlags, UsageError } from "@sqlrep/runtime";
import { defineCommand } from "../command.js";
import { configPath, resolveDatabasePath } from "../config.js";
import { CliError, CONFIG_FLAGS, readConfig } from "../context.js";

const flags = defineFlags({
  ...CONFIG_FLAGS,
  "dry-run": { type: "boolean", usage: "Prints the local state that would be removed, without removing it." },
});

/** `litestream reset DB_PATH`: removes the database's local log so the next replicate rebuilds its position from the replicas. */
export const resetCommand = defineCommand({
  name: "reset",
  summary: "resets local replication state for a database",
  description: [
    "The reset command removes a database's local replication state: the local log of",
    "changes in its meta directory (.<name>-sqlrep/ltx, or meta-path). The database and the",
    "replicas are not touched. The next replicate continues a replica only where the",
    "database's checksum equals the replica's latest state, and takes a snapshot otherwise",
    "(replicate -once -force-snapshot takes one in any case). Refused while replicate runs.",
    "A database's meta-path is read from the config (-config, else $LITESTREAM_CONFIG or",
    "/etc/litestream.yml when it exists).",
  ].join("\n"),
  synopsis: ["[arguments] DB_PATH"],
  flags,
  examples: [
    "# Reset the local state of a database whose local log is damaged.",
    "$ litestream reset /path/to/db",
    "",
    "# See what would be removed.",
    "$ litestream reset -dry-run /path/to/db",
  ],
  async run({ flags, given, positionals }, io) {
    if (positionals.length === 0) throw new UsageError("database path required");
    if (positionals.length > 1) throw new UsageError(`too many arguments: ${positionals.slice(1).join(" ")}`);
    const path = resolveDatabasePath(positionals[0]!, io.cwd);
    let metaDir: string | undefined;
    // The config only says where the meta directory is: read when named, or when the default one exists.
    if (given.has("config") || existsSync(configPath(undefined, io.env))) {
      const config = await readConfig(flags, io);
      metaDir = config.dbs.find((db) => db.path === path)?.settings.metaDir;
    }
    if (!existsSync(path)) throw new CliError(`database does not exist: ${path}`);
    let result: ReturnType<typeof resetLocalState>;
    try {
      result = resetLocalState(path, { metaDir, dryRun: flags["dry-run"] });
    } catch (err) {
      if (isBackupError(err)) throw new CliError(`cannot reset ${path}: ${err.message}`, { cause: err });
      throw err;
    }
    const out = (line: string) => io.stdout.write(`${line}\n`);
    if (!result.existed) {
      out(`No local state to reset for ${path}`);
      out(`Meta directory does not exist: ${result.metaDir}`);
      return 0;
    }
    if (flags["dry-run"]) {
      out(`Dry run: local state would be reset for: ${path}`);
      out(`Would remove: ${result.logDir}`);
      if (result.files.length === 0) {
        out("No local log files would be removed.");
        return 0;
      }
      out("Files that would be removed:");
      for (const file of result.files) out(`  ${file}`);
      out("No files were removed.");
      return 0;
    }
    out(`Resetting local state for: ${path}`);
    out(`Removed: ${result.logDir} (${result.files.length} file${result.files.length === 1 ? "" : "s"})`);
    out("Reset complete. The next replicate continues each replica only where the database matches it, else takes a snapshot.");
    return 0;
  },
});
