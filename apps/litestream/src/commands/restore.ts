import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { defineCommand } from "../command.js";
import { CliError, CONFIG_FLAGS, describeReplica, resolveTarget } from "../context.js";
import { defineFlags, UsageError, type FlagValues } from "@sqlrep/runtime";
import { parseTimestampFlag, parseTxidFlag } from "../format.js";
import { progressBar } from "../progress.js";
import { restoreFromReplicas, summaryLine } from "../restore-run.js";
import { restoreRequest } from "../restore-flags.js";
import type { RestoreRequest } from "@sqlrep/replica";

const flags = defineFlags({
  ...CONFIG_FLAGS,
  o: { type: "string", placeholder: "PATH", usage: "Output path of the restored database.\nDefaults to the original DB path; required with a REPLICA_URL." },
  replica: { type: "string", placeholder: "NAME", usage: "Restore from this replica only.\nDefaults to the replica holding the newest backup." },
  txid: { type: "string", placeholder: "TXID", usage: "Restore up to and including this transaction ID\n(hex, up to 16 digits, e.g. 000000000000002a)." },
  timestamp: { type: "string", placeholder: "TIMESTAMP", usage: "Restore the newest state committed at or before this time (RFC 3339).\nDefaults to the latest available backup." },
  parallelism: { type: "integer", default: 8, min: 1, placeholder: "NUM", usage: "Number of ranged downloads in flight.\nDefaults to 8." },
  "if-db-not-exists": { type: "boolean", usage: "Returns exit code of 0 if the database already exists." },
  "if-replica-exists": { type: "boolean", usage: "Returns exit code of 0 if no backups are found." },
  "integrity-check": {
    type: "choice",
    values: ["none", "quick", "full"],
    bare: "full",
    usage:
      'Checks the restored file with SQLite before it is put in place: quick_check ("quick",\nthe default), integrity_check ("full", also when the flag is given alone) or nothing\n("none"); the restore fails unless the check says "ok".',
  },
  generation: { type: "string", placeholder: "NAME", usage: "Restore from this Litestream v0.3 generation.\nDefaults to the layout (v0.3 or LTX) and generation with the newest data." },
  index: { type: "string", placeholder: "NUM", usage: "Restore up to and including this hex-encoded v0.3 WAL index;\nneeds -generation." },
});

type RestoreFlags = FlagValues<typeof flags>;

/** `litestream restore`: a database from a replica, at the latest state, a TXID or a point in time. */
export const restoreCommand = defineCommand({
  name: "restore",
  summary: "recovers database backup from a replica",
  description:
    "The restore command recovers a database from a replica's snapshot and LTX files, or from a\nLitestream v0.3 replica's snapshot and WAL segments (generations/): whichever holds the newest\ndata when a replica has both, unless -generation names a v0.3 generation.",
  synopsis: ["[arguments] DB_PATH", "[arguments] REPLICA_URL"],
  flags,
  examples: [
    "# Restore latest replica for database to original location.",
    "$ litestream restore /path/to/db",
    "",
    "# Restore replica for database to a given point in time.",
    "$ litestream restore -timestamp 2020-01-01T00:00:00Z /path/to/db",
    "",
    "# Restore latest replica for database to new /tmp directory",
    "$ litestream restore -o /tmp/db /path/to/db",
    "",
    "# Restore database from latest generation on S3.",
    "$ litestream restore -o /tmp/db s3://mybkt/db",
    "",
    "# Restore database up to a transaction and check it.",
    "$ litestream restore -txid 00000000000003e8 -integrity-check -o /tmp/db /path/to/db",
  ],
  async run({ flags, given, positionals }, io) {
    if (positionals.length === 0) throw new UsageError("database path or replica URL required");
    if (positionals.length > 1) throw new UsageError(`too many arguments: ${positionals.slice(1).join(" ")}`);
    const request = parseRequest(flags, given);
    const arg = positionals[0]!;
    const { db, replicas } = await resolveTarget(arg, flags, given, io);
    if (!db && flags.o === undefined) throw new UsageError("output path required: -o PATH (a REPLICA_URL has no database path to restore to)");
    const output = resolve(io.cwd, flags.o ?? db!.path);
    if (existsSync(output)) {
      if (flags["if-db-not-exists"]) {
        io.stdout.write(`database already exists, skipping: ${output}\n`);
        return 0;
      }
      throw new CliError(`output file already exists: ${output}`);
    }
    const check = integrityMode(flags["integrity-check"]);
    const bar = io.stderr.isTTY ? progressBar(io.stderr) : undefined;
    let restored;
    try {
      restored = await restoreFromReplicas(replicas, request, {
        output,
        parallelism: flags.parallelism,
        integrityCheck: check,
        signal: io.signal,
        onProgress: bar ? (p) => bar.update(p) : undefined,
        warn: (message) => io.stderr.write(`warning: ${message}\n`),
      });
    } finally {
      bar?.done();
    }
    if (!restored) {
      if (flags["if-replica-exists"]) {
        io.stdout.write("no matching backups found\n");
        return 0;
      }
      throw new CliError(`no matching backups found in ${replicas.map(describeReplica).join(", ")}`);
    }
    io.stdout.write(summaryLine(output, restored.source, restored.summary, check) + "\n");
    return 0;
  },
});

/** `-integrity-check`: quick unless told otherwise; `none` skips SQLite's check. */
function integrityMode(flag: string | undefined): "quick" | "full" | undefined {
  if (flag === "none") return undefined;
  return flag === "full" ? "full" : "quick";
}

function parseRequest(flags: RestoreFlags, given: ReadonlySet<string>): RestoreRequest {
  if (given.has("txid") && given.has("timestamp")) throw new UsageError("cannot specify both -txid and -timestamp");
  const target: RestoreRequest["target"] = {};
  if (flags.txid !== undefined) target.txid = parseTxidFlag(flags.txid);
  if (flags.timestamp !== undefined) target.timestamp = parseTimestampFlag(flags.timestamp);
  return restoreRequest(target, { generation: flags.generation, index: flags.index });
}
