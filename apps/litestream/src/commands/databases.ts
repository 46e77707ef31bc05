/** `litestream databases`: lists the config's databases and their replicas, as a table or JSON. */
import { defineCommand } from "../command.js";
import { CONFIG_FLAGS, readConfig } from "../context.js";
import { defineFlags, UsageError } from "@sqlrep/runtime";
import { formatTable } from "../format.js";

const flags = defineFlags({
  ...CONFIG_FLAGS,
  json: { type: "boolean", usage: "Prints JSON instead of a table." },
});

/** `litestream databases`: the databases of the config and their replicas. */
export const databasesCommand = defineCommand({
  name: "databases",
  summary: "list databases specified in config file",
  description: "The databases command lists all databases in the configuration file.",
  synopsis: ["[arguments]"],
  flags,
  async run({ flags, positionals }, io) {
    if (positionals.length > 0) throw new UsageError(`too many arguments: ${positionals.join(" ")}`);
    const config = await readConfig(flags, io);
    if (flags.json) {
      const out = config.dbs.map((db) => ({
        path: db.path,
        replicas: db.replicas.map((r) => ({
          name: r.name,
          type: r.spec.type,
          ...(r.spec.url ? { url: r.spec.url } : {}),
          ...(r.spec.bucket ? { bucket: r.spec.bucket } : {}),
          path: r.spec.path ?? "",
        })),
      }));
      io.stdout.write(JSON.stringify(out, null, 2) + "\n");
      return 0;
    }
    const rows = [["path", "replicas"], ...config.dbs.map((db) => [db.path, db.replicas.map((r) => r.name).join(",")])];
    io.stdout.write(formatTable(rows));
    return 0;
  },
});
