import { SNAPSHOT_LEVEL, type LtxFileInfo } from "@sqlrep/replica";
import { defineCommand } from "../command.js";
import { CONFIG_FLAGS, resolveTarget } from "../context.js";
import { defineFlags, UsageError } from "@sqlrep/runtime";
import { formatTable, formatTime, formatTxid } from "../format.js";

const flags = defineFlags({
  ...CONFIG_FLAGS,
  replica: { type: "string", placeholder: "NAME", usage: "Lists the files of this replica of DB_PATH.\nDefaults to the database's first replica." },
  level: { type: "string", placeholder: "LEVEL", default: "all", usage: "Lists only this level: 0-9, or all.\nDefaults to all." },
  json: { type: "boolean", usage: "Prints JSON instead of a table." },
});

/** The levels `-level` names. */
export function parseLevelFlag(text: string): number[] {
  if (text === "all") return Array.from({ length: SNAPSHOT_LEVEL + 1 }, (_, i) => i);
  if (/^\d$/.test(text)) return [Number(text)];
  throw new UsageError(`invalid -level ${JSON.stringify(text)}: expected 0-${SNAPSHOT_LEVEL} or all`);
}

/** `litestream ltx`: the LTX files of a replica, level by level. */
export const ltxCommand = defineCommand({
  name: "ltx",
  summary: "list LTX files of a database's replica",
  description: "The ltx command lists the LTX files of a replica: level, TXID range, size and creation time.",
  synopsis: ["[arguments] DB_PATH", "[arguments] REPLICA_URL"],
  flags,
  examples: [
    "# List every LTX file of the database's first replica.",
    "$ litestream ltx /path/to/db",
    "",
    "# List the snapshots (level 9) of a replica URL, as JSON.",
    "$ litestream ltx -level 9 -json s3://mybkt/db",
  ],
  async run({ flags, given, positionals }, io) {
    if (positionals.length === 0) throw new UsageError("database path or replica URL required");
    if (positionals.length > 1) throw new UsageError(`too many arguments: ${positionals.slice(1).join(" ")}`);
    const levels = parseLevelFlag(flags.level);
    const { replicas } = await resolveTarget(positionals[0]!, flags, given, io);
    const { client } = replicas[0]!;
    const files: LtxFileInfo[] = [];
    for (const level of levels) for await (const file of client.ltxFiles(level)) files.push(file);
    if (flags.json) {
      const out = files.map((f) => ({ level: f.level, min_txid: formatTxid(f.minTXID), max_txid: formatTxid(f.maxTXID), size: f.size, created: f.createdAt.toISOString() }));
      io.stdout.write(JSON.stringify(out, null, 2) + "\n");
      return 0;
    }
    const rows = files.map((f) => [String(f.level), formatTxid(f.minTXID), formatTxid(f.maxTXID), String(f.size), formatTime(f.createdAt)]);
    io.stdout.write(formatTable([["level", "min_txid", "max_txid", "size", "created"], ...rows]));
    return 0;
  },
});
