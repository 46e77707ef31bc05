import { defineCommand } from "../command.js";
import { sqlite } from "../sqlite.js";
import { defineFlags, UsageError } from "@sqlrep/runtime";
import { VERSION } from "../version.js";

const flags = defineFlags({
  verbose: { type: "boolean", usage: "Also prints the runtime, SQLite and platform versions." },
});

/** `litestream version`: prints `v<version>`, as Litestream does; `-verbose` adds build details. */
export const versionCommand = defineCommand({
  name: "version",
  summary: "prints the binary version",
  description: "Prints the version of this litestream (sqlrep's implementation).",
  synopsis: ["[arguments]"],
  flags,
  async run({ flags, positionals }, io) {
    if (positionals.length > 0) throw new UsageError(`too many arguments: ${positionals.join(" ")}`);
    io.stdout.write(`v${VERSION}\n`);
    if (flags.verbose) {
      const Database = sqlite();
      const db = new Database(":memory:");
      const sqliteVersion = (db.prepare("SELECT sqlite_version() AS v").get() as { v: string }).v;
      db.close();
      const rows = [
        ["implementation", "sqlrep (TypeScript), Litestream v0.3/v0.5 compatible"],
        ["node", process.version],
        ["sqlite", sqliteVersion],
        ["platform", `${process.platform}/${process.arch}`],
        ["ltx", "writes LTX v3 with database checksums; reads every version"],
      ];
      for (const [k, v] of rows) io.stdout.write(`${k}: ${v}\n`);
    }
    return 0;
  },
});
